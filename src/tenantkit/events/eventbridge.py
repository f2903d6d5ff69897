"""EventBridge events that keep their tenant: ``put_events`` signs, the consumer verifies.

A rule delivers an event to whatever its targets are, long after the request that
caused it, so the tenant travels in the event, signed like a queued message: each
``Detail`` carries a tenant envelope (``tenantkit.events.carried``), and the consumer
runs its handler inside the envelope's tenant only if the signature holds.

Rules may match ``detail.tenantId`` (next to the envelope, for routing) and the
event's ``source`` and ``detail-type``; the payload itself is inside the signed string.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, TypeVar

from tenantkit._shared.backoff import Backoff
from tenantkit._shared.clients import ClientOptions
from tenantkit.context import current_tenant, tenant_scope
from tenantkit.errors import (
    EnvelopeError,
    InvalidInputError,
    TenantNotActiveError,
    UnprocessedItemsError,
)
from tenantkit.events.carried import carry, open_carried
from tenantkit.events.envelope import EVENTS

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

    from tenantkit.events.envelope import EnvelopeSigner

__all__ = ["EventEntry", "eventbridge_handler", "put_events"]

logger = logging.getLogger("tenantkit.events")

R = TypeVar("R")

#: PutEvents takes at most 10 entries per request.
PUT_EVENTS_LIMIT = 10
#: Entry error codes that a later attempt may get through; others never will.
_RETRYABLE = frozenset({"ThrottlingException", "InternalFailure", "InternalException"})
_ENTRY_KEYS = frozenset({"Source", "DetailType", "Detail", "EventBusName", "Resources"})


class EventEntry(TypedDict):
    """One event for :func:`put_events`: PutEvents' entry, with ``Detail`` a JSON value
    (sealed by ``put_events``), not a string."""

    Source: str
    DetailType: str
    Detail: Any
    EventBusName: NotRequired[str]
    Resources: NotRequired[list[str]]


def put_events(
    entries: Iterable[EventEntry],
    *,
    signer: EnvelopeSigner,
    client: Any = None,
    boto3_session: boto3.session.Session | None = None,
    boto_config: Config | None = None,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Put ``entries`` on their buses, each ``Detail`` sealed under the current tenant.

    Returns the event ids, in the order of ``entries``. Outside a tenant scope it raises
    ``NoTenantContextError`` before any call. Entries go 10 per request; entries that
    PutEvents refuses with a throttling or internal error are sent again (the same
    sealed envelope, so a consumer with a ledger still runs it once) up to ``attempts``
    times in all. Whatever is still refused then raises ``UnprocessedItemsError``: its
    ``unprocessed`` lists ``{"index", "entry", "errorCode", "errorMessage"}`` for each
    failed entry, and its ``processed`` the event ids, ``None`` where an entry failed.
    Nothing is dropped silently. The client is ``client`` (an ``events`` client), or one
    built from ``boto3_session`` and ``boto_config``, as every client-taking API of
    tenantkit does.
    """
    options = ClientOptions(
        "events", client=client, boto3_session=boto3_session, boto_config=boto_config
    )
    given = list(entries)
    current_tenant()  # refuse before sealing anything
    requests = [_request(entry, signer) for entry in given]
    event_ids: list[str | None] = [None] * len(requests)
    failures: dict[int, Mapping[str, Any]] = {}
    backoff = Backoff(0.05, 1.0, sleep)
    events = options.get()
    for start in range(0, len(requests), PUT_EVENTS_LIMIT):
        pending = list(range(start, min(start + PUT_EVENTS_LIMIT, len(requests))))
        for attempt in range(max(attempts, 1)):
            if attempt:
                backoff.wait(attempt - 1)
            answer = events.put_events(Entries=[requests[i] for i in pending])["Entries"]
            retry: list[int] = []
            for index, result in zip(pending, answer, strict=True):
                if "EventId" in result and not result.get("ErrorCode"):
                    event_ids[index] = result["EventId"]
                    failures.pop(index, None)
                    continue
                failures[index] = result
                if result.get("ErrorCode") in _RETRYABLE:
                    retry.append(index)
            pending = retry
            if not pending:
                break
    if failures:
        unprocessed: list[object] = [
            {
                "index": index,
                "entry": given[index],
                "errorCode": result.get("ErrorCode"),
                "errorMessage": result.get("ErrorMessage"),
            }
            for index, result in sorted(failures.items())
        ]
        named = ", ".join(
            f"#{index} ({result.get('ErrorCode')})" for index, result in sorted(failures.items())
        )
        raise UnprocessedItemsError(
            f"PutEvents refused {len(failures)} of {len(requests)} event(s): {named}",
            unprocessed,
            processed=list(event_ids),
        )
    return [event_id for event_id in event_ids if event_id is not None]


def _request(entry: Mapping[str, Any], signer: EnvelopeSigner) -> dict[str, Any]:
    if not isinstance(entry, Mapping) or not {"Source", "DetailType", "Detail"} <= set(entry):
        raise InvalidInputError("each event needs Source, DetailType and Detail")
    if unknown := set(entry) - _ENTRY_KEYS:
        raise InvalidInputError(
            f"unsupported event field(s) {sorted(unknown)}; put_events takes {sorted(_ENTRY_KEYS)}"
        )
    request: dict[str, Any] = {
        "Source": entry["Source"],
        "DetailType": entry["DetailType"],
        "Detail": json.dumps(carry(signer, entry["Detail"], purpose=EVENTS), separators=(",", ":")),
    }
    if "EventBusName" in entry:
        request["EventBusName"] = entry["EventBusName"]
    if "Resources" in entry:
        request["Resources"] = list(entry["Resources"])
    return request


def eventbridge_handler(
    *, signer: EnvelopeSigner, require_active: Callable[[str], None] | None = None
) -> Callable[[Callable[[dict[str, Any], Any], R]], Callable[[Mapping[str, Any], Any], R | None]]:
    """Decorate a Lambda handler for EventBridge events sealed by :func:`put_events`.

    The handler runs inside the envelope's tenant and receives the event with ``detail``
    replaced by the verified payload (what the producer passed as ``Detail``); the tenant
    is reset afterwards. A detail that is forged, edited, unsigned or older than the
    signer's ``max_age`` raises ``EnvelopeError``, logged with the reason (never the
    envelope), and the handler does not run.

    ``require_active(tenant_id)`` runs first; when it raises ``TenantNotActiveError`` the
    event is dropped: logged, and the handler returns ``None`` without running, so Lambda
    does not retry it into a dead-letter queue where a suspended or offboarded tenant's
    data would outlive its erasure. Any other error it raises propagates, so Lambda retries.
    """

    def decorate(
        fn: Callable[[dict[str, Any], Any], R],
    ) -> Callable[[Mapping[str, Any], Any], R | None]:
        @functools.wraps(fn)
        def wrapper(event: Mapping[str, Any], context: Any = None) -> R | None:
            event_id = event.get("id") if isinstance(event, Mapping) else None
            try:
                if not isinstance(event, Mapping) or not {"detail-type", "source"} <= set(event):
                    raise EnvelopeError("the event is not an EventBridge event")
                opened = open_carried(signer, event.get("detail"), purpose=EVENTS)
            except EnvelopeError as exc:
                logger.warning(
                    "refused EventBridge event %s: %s",
                    event_id,
                    exc,
                    extra={"event_id": event_id, "refusal_reason": str(exc)},
                )
                raise
            tenant_id = opened.context.tenant_id
            if require_active is not None:
                try:
                    require_active(tenant_id)
                except TenantNotActiveError:
                    logger.warning(
                        "dropped EventBridge event %s: tenant %s is not active",
                        event_id,
                        tenant_id,
                        extra={"event_id": event_id, "tenant_id": tenant_id},
                    )
                    return None
            with tenant_scope(opened.context):
                return fn({**event, "detail": opened.payload}, context)

        return wrapper

    return decorate
