"""Send tenant envelopes to SQS and process SQS batches under each message's own tenant.

SQS delivers at least once, and an envelope can be replayed while it is younger than
``max_age``; ``process_sqs_batch(..., once=EnvelopeLedger(...))`` runs each envelope's
handler successfully at most once (see ``tenantkit.events.once``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tenantkit._shared.clients import ClientOptions
from tenantkit.context import tenant_scope
from tenantkit.errors import EnvelopeError, TenantKitError, TenantNotActiveError, aws_error_code
from tenantkit.events.carried import open_carried
from tenantkit.events.envelope import EVENTS, SQS

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageRequestTypeDef

    from tenantkit.events.envelope import EnvelopeSigner, OpenedEnvelope
    from tenantkit.events.once import Claim, EnvelopeLedger

__all__ = ["process_sqs_batch", "send_message"]

logger = logging.getLogger("tenantkit.events")

#: How long past ``max_age`` a processed envelope's marker is kept: the signer accepts
#: envelopes issued up to a minute in the future, and TTL clocks are not the consumer's.
_MARKER_MARGIN_SECONDS = 300


def send_message(
    queue_url: str,
    payload: object,
    *,
    signer: EnvelopeSigner,
    client: SQSClient | None = None,
    boto3_session: boto3.session.Session | None = None,
    boto_config: Config | None = None,
) -> str:
    """Seal ``payload`` under the current tenant and send it; returns the SQS message id.

    The SQS client is ``client``, or one built from ``boto3_session`` and ``boto_config``
    (not both), as every client-taking API of tenantkit does. A function keeps no client
    between calls: pass ``client=`` (built once, in module scope) when sending often.

    The message attribute ``tenant_id`` is set for routing and metrics (the envelope,
    not the attribute, is what consumers trust). FIFO queues get the tenant as
    ``MessageGroupId``, so one tenant's backlog does not hold up another's, and the
    envelope's message id as ``MessageDeduplicationId``.
    """
    options = ClientOptions(
        "sqs", client=client, boto3_session=boto3_session, boto_config=boto_config
    )
    body = signer.seal(payload, purpose=SQS)
    envelope = json.loads(body)["env"]
    request: SendMessageRequestTypeDef = {
        "QueueUrl": queue_url,
        "MessageBody": body,
        "MessageAttributes": {
            "tenant_id": {"DataType": "String", "StringValue": envelope["tenantId"]}
        },
    }
    if queue_url.endswith(".fifo"):
        request["MessageGroupId"] = envelope["tenantId"]
        request["MessageDeduplicationId"] = envelope["messageId"]
    sqs: SQSClient = options.get()
    return sqs.send_message(**request)["MessageId"]


def process_sqs_batch(
    event: Mapping[str, Any],
    record_handler: Callable[[Any], object],
    *,
    signer: EnvelopeSigner,
    once: EnvelopeLedger | None = None,
    require_active: Callable[[str], None] | None = None,
) -> dict[str, list[dict[str, str]]]:
    """Run ``record_handler(payload)`` for each record, inside the record's own tenant.

    Returns the partial batch response ``{"batchItemFailures": [...]}`` listing exactly
    the records that were refused (not a valid envelope: forged, edited, too old) or
    whose handler raised. Refusals are logged with the reason and never reach the
    handler. Bodies may be envelopes sealed for the purpose ``"sqs"`` (``send_message``),
    SNS notifications delivered to SQS that carry one (raw message delivery or the SNS
    JSON wrapper), or EventBridge events sealed by ``put_events`` (purpose ``"events"``)
    that a rule delivered to the queue. Enable
    ``ReportBatchItemFailures`` on the event source mapping.

    On FIFO queues, once a record of a message group fails, the later records of that
    group are returned as failures unprocessed, to keep the group's order.

    With ``once``, each envelope (by its signed id) runs successfully at most once: a
    delivery of an envelope already processed is acknowledged without calling the
    handler; one that another consumer is running right now is returned as a failure,
    so SQS delivers it again later; a handler that raises gives its claim back, so the
    retry runs it. A record the ledger cannot claim (DynamoDB unreachable) fails without
    running.

    With ``require_active``, it is called with each record's tenant before the ledger
    and the handler. A record it refuses with ``TenantNotActiveError`` is dropped:
    acknowledged without running, and logged with its tenant and ids (never its
    payload). Reporting it as a failure would send it round until the dead-letter queue,
    which would keep a suspended or offboarded tenant's data past its erasure; a resumed
    tenant asks again. Any other error of ``require_active`` (its table unreachable) fails
    the record, so SQS retries it.
    """
    records = event.get("Records")
    if not isinstance(records, list):
        raise EnvelopeError("the event is not an SQS batch (no Records list)")
    failures: list[dict[str, str]] = []
    failed_groups: set[str] = set()
    for record in records:
        message_id = record.get("messageId") if isinstance(record, Mapping) else None
        if not isinstance(message_id, str):
            raise EnvelopeError("an SQS record has no messageId; is this an SQS event?")
        group = _message_group(record)
        if group is not None and group in failed_groups:
            failures.append({"itemIdentifier": message_id})
            continue
        if not _process_record(record, message_id, record_handler, signer, once, require_active):
            failures.append({"itemIdentifier": message_id})
            if group is not None:
                failed_groups.add(group)
    return {"batchItemFailures": failures}


def _process_record(
    record: Mapping[str, Any],
    message_id: str,
    record_handler: Callable[[Any], object],
    signer: EnvelopeSigner,
    once: EnvelopeLedger | None,
    require_active: Callable[[str], None] | None,
) -> bool:
    try:
        envelope = _open_body(record.get("body"), signer)
        attribute = _tenant_attribute(record)
        if attribute is not None and attribute != envelope.context.tenant_id:
            raise EnvelopeError("the tenant_id message attribute differs from the envelope")
    except EnvelopeError as exc:
        logger.warning(
            "refused SQS message %s: %s",
            message_id,
            exc,
            extra={"message_id": message_id, "refusal_reason": str(exc)},
        )
        return False
    except TenantKitError as exc:
        # Not the message's fault (the envelope key is missing or misconfigured): say
        # what to fix; tenantkit's messages hold no secrets.
        logger.error(
            "SQS message %s could not be opened: %s",
            message_id,
            exc,
            extra={"message_id": message_id, "refusal_reason": str(exc)},
        )
        return False
    except Exception as exc:  # one unreadable record must never fail the whole batch
        reason = f"the record could not be opened ({type(exc).__name__})"
        logger.warning(
            "refused SQS message %s: %s",
            message_id,
            reason,
            extra={"message_id": message_id, "refusal_reason": reason},
        )
        return False
    if require_active is not None:
        active = _is_active(require_active, envelope, message_id)
        if active is not None:
            return active
    if once is None:
        return _run(record_handler, envelope, message_id)
    claim = _claim(once, envelope, message_id, signer.max_age)
    if claim is None or claim.busy:
        return False
    if claim.done:
        logger.info(
            "SQS message %s: envelope %s was already processed; acknowledged without running",
            message_id,
            envelope.message_id,
            extra={"message_id": message_id, "envelope_id": envelope.message_id},
        )
        return True
    if _run(record_handler, envelope, message_id):
        _settle(
            once.complete,
            claim,
            message_id,
            "could not be recorded as done; a delivery after the lease may run it again",
        )
        return True
    _settle(
        once.release,
        claim,
        message_id,
        "could not be released; its retry waits for the lease to pass",
    )
    return False


def _run(
    record_handler: Callable[[Any], object], envelope: OpenedEnvelope, message_id: str
) -> bool:
    with tenant_scope(envelope.context):
        try:
            record_handler(envelope.payload)
        except Exception:
            logger.exception(
                "SQS message %s failed in its handler", message_id, extra={"message_id": message_id}
            )
            return False
    return True


def _is_active(
    require_active: Callable[[str], None], envelope: OpenedEnvelope, message_id: str
) -> bool | None:
    """``None`` to go on; else the record's outcome: ``True`` (dropped) for a tenant that
    is not active, ``False`` (retry) when the check itself failed."""
    tenant_id = envelope.context.tenant_id
    ids = {"message_id": message_id, "envelope_id": envelope.message_id, "tenant_id": tenant_id}
    try:
        require_active(tenant_id)
    except TenantNotActiveError:
        logger.warning(
            "dropped SQS message %s: tenant %s is not active", message_id, tenant_id, extra=ids
        )
        return True
    except Exception as exc:
        reason = aws_error_code(exc) or type(exc).__name__
        logger.error(
            "SQS message %s was not run: its tenant's status could not be checked (%s)",
            message_id,
            reason,
            extra={**ids, "refusal_reason": reason},
        )
        return False
    return None


def _claim(
    once: EnvelopeLedger, envelope: OpenedEnvelope, message_id: str, max_age: float
) -> Claim | None:
    """The ledger's claim on the envelope, or None (logged) when the ledger failed."""
    keep_until = envelope.issued_at_ms / 1000 + max_age + _MARKER_MARGIN_SECONDS
    try:
        claim = once.claim(envelope.message_id, keep_until=keep_until)
    except Exception as exc:
        reason = aws_error_code(exc) or type(exc).__name__
        logger.error(
            "SQS message %s was not run: its envelope could not be claimed (%s)",
            message_id,
            reason,
            extra={"message_id": message_id, "refusal_reason": reason},
        )
        return None
    if claim.busy:
        logger.info(
            "SQS message %s: envelope %s is in progress on another consumer; SQS will "
            "deliver it again",
            message_id,
            envelope.message_id,
            extra={"message_id": message_id, "envelope_id": envelope.message_id},
        )
    return claim


def _settle(action: Callable[[Claim], None], claim: Claim, message_id: str, what: str) -> None:
    try:
        action(claim)
    except Exception as exc:
        logger.error(
            "SQS message %s %s (%s)",
            message_id,
            what,
            aws_error_code(exc) or type(exc).__name__,
            extra={"message_id": message_id},
        )


def _open_body(body: object, signer: EnvelopeSigner) -> OpenedEnvelope:
    """The envelope in an SQS body: the body itself, the Message of an SNS wrapper, or
    the detail of an EventBridge event that a rule put on the queue (``put_events``)."""
    if not isinstance(body, str):
        raise EnvelopeError("the SQS record has no string body")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return signer.open_envelope(body, purpose=SQS)  # not JSON: refused with the reason
    if isinstance(document, dict) and {"detail-type", "source", "detail"} <= set(document):
        return open_carried(signer, document["detail"], purpose=EVENTS)
    if (
        isinstance(document, dict)
        and document.get("Type") == "Notification"
        and "TopicArn" in document
        and "v" not in document
    ):
        message = document.get("Message")
        if not isinstance(message, str):
            raise EnvelopeError("the SNS notification has no string Message")
        return signer.open_envelope(message, purpose=SQS)
    return signer.open_envelope(body, purpose=SQS)


def _tenant_attribute(record: Mapping[str, Any]) -> str | None:
    attributes = record.get("messageAttributes")
    if not isinstance(attributes, Mapping):
        return None
    attribute = attributes.get("tenant_id")
    if not isinstance(attribute, Mapping):
        return None
    value = attribute.get("stringValue")
    return value if isinstance(value, str) else None


def _message_group(record: Mapping[str, Any]) -> str | None:
    source = record.get("eventSourceARN")
    attributes = record.get("attributes")
    if not (isinstance(source, str) and source.endswith(".fifo")):
        return None
    if not isinstance(attributes, Mapping):
        return None
    group = attributes.get("MessageGroupId")
    return group if isinstance(group, str) else None
