"""Lambda tasks of a Step Functions state machine, run inside the execution's tenant.

A state machine started by a generated API Gateway template (``tenantkit.direct``) has
the authorizer's tenant as the top-level ``tenantId`` of its execution input, and only
API Gateway's integration role may start it (round-2 decision 2). So a task trusts the
``tenantId`` that the machine passes on, as long as nobody else can invoke the task's
function: grant ``lambda:InvokeFunction`` on it to the state machine's role alone. A
task function that other callers reach must take signed envelopes instead
(``tenant_handler(signer=...)``).

An EventBridge rule that targets the state machine breaks that premise: the execution
input is then an event, whose ``detail.tenantId`` sits next to the envelope that
``put_events`` sealed and is never to be trusted alone. So an input that carries an
envelope (a detail, or a whole EventBridge event) is refused unless the decorator has
the ``signer`` to verify it, and then the envelope's tenant is the task's.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from tenantkit.context import TenantContext, tenant_scope, validate_tenant_id
from tenantkit.errors import (
    EnvelopeError,
    InvalidTenantIdError,
    NoTenantContextError,
    TenantMismatchError,
)
from tenantkit.events.carried import is_carried

if TYPE_CHECKING:
    from tenantkit.events.envelope import EnvelopeSigner

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
    *,
    require_active: Callable[[str], None] | None = None,
    signer: EnvelopeSigner | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def step_functions_task(
    fn: Callable[P, R] | None = None,
    /,
    *,
    require_active: Callable[[str], None] | None = None,
    signer: EnvelopeSigner | None = None,
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

    An input that carries a tenant envelope (an EventBridge detail ``{"tenantId",
    "envelope"}``, or an EventBridge event whose ``detail`` is one) raises
    ``EnvelopeError`` without ``signer``. With ``signer``, the envelope must verify as
    sealed by ``put_events`` and name the input's ``tenantId``; the context is then the
    envelope's (its user and roles, which were signed), and the handler receives the
    verified payload in place of the detail, as ``eventbridge_handler`` does.
    """

    def decorate(handler: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(handler)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            event = args[0] if args else kwargs.get("event")
            lambda_context = args[1] if len(args) > 1 else kwargs.get("context")
            call_args: Any = args
            try:
                if isinstance(event, Mapping) and (document := _carried_document(event)):
                    ctx, opened = _verified_input(event, document, lambda_context, signer)
                    if args:
                        call_args = (opened, *args[1:])
                    else:
                        kwargs["event"] = opened
                else:
                    ctx = _task_context(event, lambda_context)
            except (
                NoTenantContextError,
                InvalidTenantIdError,
                TenantMismatchError,
                EnvelopeError,
            ) as error:
                logger.warning("refused Step Functions task: %s", error)
                raise
            if require_active is not None:
                require_active(ctx.tenant_id)
            with tenant_scope(ctx):
                return handler(*call_args, **kwargs)

        return wrapper

    return decorate if fn is None else decorate(fn)


def _carried_document(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The envelope-carrying object in ``event``: the input itself (a detail), or the
    ``detail`` of an EventBridge event; ``None`` for an execution input."""
    if is_carried(event):
        return event
    detail = event.get("detail")
    if {"detail-type", "source"} <= set(event) and isinstance(detail, Mapping):
        return detail if is_carried(detail) else None
    return None


def _verified_input(
    event: Mapping[str, Any],
    document: Mapping[str, Any],
    lambda_context: object,
    signer: EnvelopeSigner | None,
) -> tuple[TenantContext, object]:
    """The envelope's context, and the input with the verified payload in its place."""
    if signer is None:
        raise EnvelopeError(
            "the task input carries a tenant envelope (an EventBridge event or detail), "
            "whose tenantId is not to be trusted alone; give step_functions_task the "
            "signer to verify it, or do not let EventBridge rules start this state machine"
        )
    from tenantkit.events.carried import open_carried
    from tenantkit.events.envelope import EVENTS

    opened = open_carried(signer, document, purpose=EVENTS)
    tenant_id = opened.context.tenant_id
    if event.get("tenantId", tenant_id) != tenant_id:
        raise EnvelopeError("the task input's tenantId differs from its envelope's")
    isolated = getattr(lambda_context, "tenant_id", None)
    if isolated is not None and isolated != tenant_id:
        raise TenantMismatchError(
            "the Lambda tenant-isolation tenant differs from the task input's envelope"
        )
    if document is event:
        return opened.context, opened.payload
    return opened.context, {**event, "detail": opened.payload}


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
