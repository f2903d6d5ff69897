"""Lambda tasks of a Step Functions state machine, run inside the execution's tenant.

A state machine started by a generated API Gateway template (``tenantkit.direct``) has
the authorizer's tenant as the top-level ``tenantId`` of its execution input, and only
API Gateway's integration role may start it (round-2 decision 2). So a task trusts the
``tenantId`` that the machine passes on, as long as nobody else can invoke the task's
function: grant ``lambda:InvokeFunction`` on it to the state machine's role alone. A
task function that other callers reach must take signed envelopes instead
(``tenant_handler(signer=...)``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import ParamSpec, TypeVar, overload

from tenantkit.context import TenantContext, tenant_scope, validate_tenant_id
from tenantkit.errors import InvalidTenantIdError, NoTenantContextError, TenantMismatchError

__all__ = ["TASK_USER_ID", "step_functions_task"]

logger = logging.getLogger("tenantkit.events")

P = ParamSpec("P")
R = TypeVar("R")

#: The ``user_id`` of a task's context when the input names no ``userId``: the state
#: machine acts for the tenant, not for a person.
TASK_USER_ID = "states.amazonaws.com"


@overload
def step_functions_task(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def step_functions_task(
    *, require_active: Callable[[str], None] | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def step_functions_task(
    fn: Callable[P, R] | None = None,
    /,
    *,
    require_active: Callable[[str], None] | None = None,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Run a Step Functions Lambda task inside the tenant of its input's ``tenantId``.

    The task's event is its input, which must carry the execution input's top-level
    ``tenantId`` (and may carry ``userId``); the handler gets the event unchanged. A
    missing tenant raises ``NoTenantContextError``, a malformed one
    ``InvalidTenantIdError``, and a Lambda tenant-isolation tenant that differs
    ``TenantMismatchError``, before the handler runs. Roles never come from the input,
    so the context has none. ``require_active(tenant_id)`` runs next and refuses with
    ``TenantNotActiveError``. A task cannot drop its work silently: every refusal is a
    task failure whose error name (the class name) a ``Catch`` can match.
    """

    def decorate(handler: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(handler)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            event = args[0] if args else kwargs.get("event")
            lambda_context = args[1] if len(args) > 1 else kwargs.get("context")
            try:
                ctx = _task_context(event, lambda_context)
            except (NoTenantContextError, InvalidTenantIdError, TenantMismatchError) as error:
                logger.warning("refused Step Functions task: %s", error)
                raise
            if require_active is not None:
                require_active(ctx.tenant_id)
            with tenant_scope(ctx):
                return handler(*args, **kwargs)

        return wrapper

    return decorate if fn is None else decorate(fn)


def _task_context(event: object, lambda_context: object) -> TenantContext:
    if not isinstance(event, Mapping) or event.get("tenantId") in (None, ""):
        raise NoTenantContextError(
            "the task input has no tenantId; pass the execution input's tenantId to the task"
        )
    tenant_id = validate_tenant_id(event["tenantId"])
    user_id = event.get("userId")
    if user_id in (None, ""):
        user_id = TASK_USER_ID
    elif not isinstance(user_id, str):
        raise NoTenantContextError("the task input's userId is not a string")
    isolated = getattr(lambda_context, "tenant_id", None)
    if isolated is not None and isolated != tenant_id:
        raise TenantMismatchError(
            "the Lambda tenant-isolation tenant differs from the task input's tenantId"
        )
    return TenantContext(tenant_id=tenant_id, user_id=user_id)
