"""At most one successful processing per envelope, for consumers of at-least-once queues.

SQS can deliver one message twice, to two consumers at once, and anyone allowed to send
to the queue can replay an envelope while it is younger than ``max_age``. The ledger
claims an envelope's signed id before its handler runs, with one conditional write to
the app's table:

- a claim is a marker ``in progress``, leased to its holder for ``lease`` seconds;
- the handler succeeded: the marker becomes ``done``, and every later delivery of that
  envelope is acknowledged without running the handler;
- the handler failed: the holder deletes its marker, so SQS's retry runs it again;
- the holder crashed: once the lease has passed, the next delivery takes the claim over.

So two successful runs need a handler that outlives its lease: set ``lease`` to at least
the function's timeout. Markers live in the reserved ``_`` key namespace, which no
tenant key can name, and carry no tenant data: ``pk="_once#<consumer>#<envelope id>"``,
``sk="_once"``, ``state``, ``holder``, ``leaseUntil`` (epoch ms) and ``expiresAt`` (epoch
seconds, for the table's TTL), set to when the signer would refuse the envelope as too
old anyway.

Why not Powertools' idempotency utility, which works the same way: it keys a record by a
hash of the payload, so two distinct events with equal payloads (a park closed twice)
would count as one; its in-progress expiry needs the Lambda context registered; its
records have their own layout (and keep the payload hash and response); and tenantkit's
runtime must not require ``aws-lambda-powertools``, which only its optional extra
installs. The envelope already carries a signed, unique id, so three DynamoDB calls on
the table the app already has do the job, through tenantkit's control-plane store (bound
to the ``_once#`` namespace).
"""

from __future__ import annotations

import contextlib
import math
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from tenantkit._shared.clients import ClientOptions
from tenantkit._shared.dynamodb.control_plane import ControlPlaneStore
from tenantkit.errors import ConditionFailedError, ConfigurationError, EnvelopeError

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["Claim", "EnvelopeLedger"]

_CONSUMER = re.compile(r"[A-Za-z0-9_.:-]{1,64}\Z", re.ASCII)
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}\Z", re.ASCII)
_ATTRIBUTE = re.compile(r"[A-Za-z0-9_.-]{1,255}\Z", re.ASCII)
_SORT_KEY_VALUE = "_once"
_IN_PROGRESS = "in_progress"
_DONE = "done"
_CLAIMED = "claimed"
_BUSY = "busy"


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to :meth:`EnvelopeLedger.claim`: run it, or skip it and why."""

    message_id: str
    outcome: str
    holder: str
    keep_until: float

    @property
    def claimed(self) -> bool:
        """This caller holds the envelope: run the handler, then complete or release."""
        return self.outcome == _CLAIMED

    @property
    def done(self) -> bool:
        """A run already succeeded: acknowledge the delivery without running it."""
        return self.outcome == _DONE

    @property
    def busy(self) -> bool:
        """Another consumer holds it now: neither run nor acknowledge it; SQS retries."""
        return self.outcome == _BUSY


def _seconds(value: float | timedelta) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not seconds > 0 or math.isinf(seconds):
        raise ConfigurationError("lease must be a positive number of seconds or a timedelta")
    return seconds


class EnvelopeLedger:
    """Which envelopes a consumer has processed, in the app's DynamoDB table.

    - ``consumer`` names the work (``"status-announcer"``): consumers with different
      names each process an envelope once, as SNS fan-out to several queues needs.
    - ``lease``: how long a claim is held before it counts as crashed (default 900 s,
      Lambda's longest timeout). Set it to the function's timeout, and keep the queue's
      visibility timeout times ``maxReceiveCount`` above it, so a crashed claim is
      retaken before the message goes to the dead-letter queue.
    - The table needs ``ttl_attribute`` as its TTL attribute, and the consumer's role
      ``dynamodb:PutItem`` and ``dynamodb:DeleteItem`` on keys ``_once#<consumer>#*``.

    Give it to ``process_sqs_batch(..., once=ledger)``. The client is ``client``, or one
    built from ``boto3_session`` and ``boto_config``, not before the first claim.
    """

    def __init__(
        self,
        table_name: str,
        *,
        consumer: str,
        client: DynamoDBClient | None = None,
        boto3_session: boto3.session.Session | None = None,
        boto_config: Config | None = None,
        lease: float | timedelta = 900,
        partition_key: str = "pk",
        sort_key: str | None = "sk",
        ttl_attribute: str = "expiresAt",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(consumer, str) or not _CONSUMER.match(consumer):
            raise ConfigurationError("consumer must be 1-64 characters of [A-Za-z0-9_.:-]")
        names = [partition_key, ttl_attribute] + ([sort_key] if sort_key is not None else [])
        if not table_name or not all(_ATTRIBUTE.match(name) for name in names):
            raise ConfigurationError("the ledger needs a table name and valid key attribute names")
        if sort_key == partition_key:
            raise ConfigurationError("the partition key and sort key must be different attributes")
        if ttl_attribute in (partition_key, sort_key):
            raise ConfigurationError("the ttl attribute cannot be a key attribute")
        self.table_name = table_name
        self.consumer = consumer
        self.lease = _seconds(lease)
        self._store = ControlPlaneStore(
            table_name,
            namespaces=("once",),
            partition_key=partition_key,
            sort_key=sort_key,
            client=ClientOptions(
                "dynamodb", client=client, boto3_session=boto3_session, boto_config=boto_config
            ),
        )
        self._partition_key = partition_key
        self._sort_key = sort_key
        self._ttl_attribute = ttl_attribute
        self._clock = clock

    def __repr__(self) -> str:
        return f"EnvelopeLedger({self.table_name!r}, consumer={self.consumer!r})"

    def claim(self, message_id: str, *, keep_until: float) -> Claim:
        """Claim envelope ``message_id`` before running it; keep its marker until
        ``keep_until`` (epoch seconds). Raises botocore's errors when DynamoDB fails."""
        from boto3.dynamodb.conditions import Attr

        if not isinstance(message_id, str) or not _MESSAGE_ID.match(message_id):
            raise EnvelopeError("the envelope's message id is malformed")
        now = self._clock()
        holder = uuid.uuid4().hex
        item = {
            **self._key(message_id),
            "state": _IN_PROGRESS,
            "holder": holder,
            "leaseUntil": int((now + self.lease) * 1000),
            self._ttl_attribute: math.ceil(max(keep_until, now + self.lease)),
        }
        stale = Attr("state").eq(_IN_PROGRESS) & Attr("leaseUntil").lt(int(now * 1000))
        old = self._store.put_or_existing(
            item, condition=Attr(self._partition_key).not_exists() | stale
        )
        if old is None:
            return Claim(message_id, _CLAIMED, holder, keep_until)
        outcome = _DONE if old.get("state") == _DONE else _BUSY
        return Claim(message_id, outcome, holder, keep_until)

    def complete(self, claim: Claim) -> None:
        """Record that ``claim``'s handler succeeded: later deliveries are skipped.

        Unconditional: if the lease ran out and another consumer took the claim over,
        the work is done all the same, and that consumer's failure must not undo it.
        """
        self._store.put(
            {
                **self._key(claim.message_id),
                "state": _DONE,
                self._ttl_attribute: math.ceil(claim.keep_until),
            }
        )

    def release(self, claim: Claim) -> None:
        """Give ``claim`` up after a failed run, so the retry runs it; a no-op when the
        claim was taken over or completed meanwhile."""
        from boto3.dynamodb.conditions import Attr

        mine = Attr("state").eq(_IN_PROGRESS) & Attr("holder").eq(claim.holder)
        with contextlib.suppress(ConditionFailedError):
            self._store.delete(self._key(claim.message_id), condition=mine)

    @property
    def client(self) -> DynamoDBClient:
        """The DynamoDB client, created on first use (no AWS call at import or construction)."""
        client: DynamoDBClient = self._store.client
        return client

    def _key(self, message_id: str) -> dict[str, str]:
        partition = f"_once#{self.consumer}#{message_id}"
        return self._store.key(partition, None if self._sort_key is None else _SORT_KEY_VALUE)
