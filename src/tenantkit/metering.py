"""Per-tenant metering: what each invocation cost in DynamoDB capacity, per tenant.

Opt-in. ``TenantTable(..., metering=True)`` asks DynamoDB for ``ReturnConsumedCapacity``
and hands every response to :func:`record`, which adds its read and write capacity units
and one request to the meter of the current invocation. ``@tenant_handler`` and
``TenantMiddleware`` open that meter with :func:`metered_invocation`; when the
invocation is over and a metered table fed the meter, they print one CloudWatch
Embedded Metric Format record per tenant it used (one per invocation in practice: a
handler has one tenant) with Powertools' ``EphemeralMetrics`` (extra ``powertools``).

The tenant id is a *property* of the record, never a dimension: a dimension value makes
a metric of its own, billed monthly, so 100,000 tenants would be 100,000 metrics per
name; a property is only searchable text in the log line, free until queried with Logs
Insights. The tier (a handful of values) is the dimension. ``EphemeralMetrics`` keeps
no state shared with the application's own ``Metrics`` instance, so the tier dimension
never leaks into the application's metrics (round-2 decision 20).

This module sits on the bottom floor beside ``context``: it imports nothing of
tenantkit but ``errors``, and Powertools only when metering is turned on.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantkit.errors import ConfigurationError

if TYPE_CHECKING:
    from aws_lambda_powertools.metrics import EphemeralMetrics

__all__ = [
    "DEFAULT_NAMESPACE",
    "NAMESPACE_ENV",
    "UNKNOWN_TIER",
    "Meter",
    "Usage",
    "emf_metrics_class",
    "metered_call",
    "metered_invocation",
    "record",
]

logger = logging.getLogger("tenantkit.metering")

#: The namespace of the records, unless ``POWERTOOLS_METRICS_NAMESPACE`` names one.
DEFAULT_NAMESPACE = "tenantkit"
NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
#: The tier dimension of a tenant whose tier the authorizer did not give.
UNKNOWN_TIER = "unknown"

# Operations whose capacity is read capacity when DynamoDB does not split it itself.
_READS = frozenset({"get_item", "query", "batch_get_item", "transact_get_items"})


@dataclass(slots=True)
class Usage:
    """One tenant's DynamoDB consumption in one invocation."""

    rcu: float = 0.0
    wcu: float = 0.0
    requests: int = 0


class Meter:
    """The accumulator of one invocation: usage per tenant, and when it started."""

    __slots__ = ("started", "usage")

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.usage: dict[str, Usage] = {}

    def add(self, tenant: str, operation: str, consumed: object) -> None:
        """Count one request of ``tenant`` and the ``ConsumedCapacity`` of its response.

        ``consumed`` is a response's ``ConsumedCapacity``: one entry (single-item calls,
        queries) or a list of entries, one per table (batches, transactions), or
        ``None`` for a request that failed. An entry's ``ReadCapacityUnits`` and
        ``WriteCapacityUnits`` are used when DynamoDB gives them; otherwise its
        ``CapacityUnits`` count as reads or writes by the operation.
        """
        usage = self.usage.get(tenant)
        if usage is None:
            usage = self.usage[tenant] = Usage()
        usage.requests += 1
        # dict and list, not the Mapping ABC: botocore parses into them, and this runs
        # on every request.
        entries = (consumed,) if isinstance(consumed, dict) else consumed
        if not isinstance(entries, tuple | list):
            return
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            read, write = entry.get("ReadCapacityUnits"), entry.get("WriteCapacityUnits")
            if read is None and write is None:
                units = float(entry.get("CapacityUnits") or 0.0)
                if operation in _READS:
                    usage.rcu += units
                else:
                    usage.wcu += units
            else:
                usage.rcu += float(read or 0.0)
                usage.wcu += float(write or 0.0)


_current: ContextVar[Meter | None] = ContextVar("tenantkit_meter", default=None)


def record(tenant: str, operation: str, response: Mapping[str, Any] | None) -> None:
    """Add one DynamoDB request of ``tenant`` to the current invocation's meter, if any.

    ``response`` is the call's response, or ``None`` when it raised (the request still
    counts; DynamoDB reports no capacity for it). Outside a metered invocation (a
    script, a test, the lifecycle CLI) there is no meter, and this does nothing.
    """
    meter = _current.get()
    if meter is not None:
        meter.add(tenant, operation, None if response is None else response.get("ConsumedCapacity"))


def metered_call(
    call: Callable[[Any, str, Mapping[str, Any]], dict[str, Any]],
    client: Any,
    operation: str,
    request: Mapping[str, Any],
    tenant: str,
) -> dict[str, Any]:
    """``call(client, operation, request)`` asking for ``ReturnConsumedCapacity``, recorded.

    ``TOTAL`` rather than ``INDEXES``: the total already includes what the indexes used,
    and the per-index breakdown would only lengthen every response.
    """
    response = None
    try:
        response = call(client, operation, {**request, "ReturnConsumedCapacity": "TOTAL"})
        return response
    finally:
        record(tenant, operation, response)


def emf_metrics_class() -> type[EphemeralMetrics]:
    """Powertools' ``EphemeralMetrics``, imported on first use.

    ``TenantTable(metering=True)`` calls this when it is built, so a missing extra is a
    :class:`ConfigurationError` at setup (cold start), not a failure after a request.
    Metering needs Powertools rather than falling back to a line written here: that
    would be a second EMF writer to keep in line with CloudWatch's schema, which
    Powertools validates, and with its switches (``POWERTOOLS_METRICS_DISABLED``, the
    ``service`` dimension). Powertools' validation is most of a record's cost
    (``benchmarks/metering.py`` measures it per invocation).
    """
    try:
        from aws_lambda_powertools.metrics import EphemeralMetrics
    except ImportError:
        raise ConfigurationError(
            "metering (TenantTable(metering=True)) writes CloudWatch EMF records with "
            "Powertools: pip install 'tenantkit[powertools]'"
        ) from None
    return EphemeralMetrics


@contextmanager
def metered_invocation(tenant: str, tier: object = None) -> Iterator[Meter]:
    """Meter one invocation of ``tenant`` (of ``tier``, from the authorizer context).

    Opens a fresh meter for the block, restores the previous one afterwards (on
    exceptions too), and then, if a metered table fed the meter, prints the records.
    Nothing is printed when no metered table was used. The invocation's own tenant gets
    the duration; another tenant a pinned table addressed gets its usage with duration
    0 and tier ``unknown``, so a Logs Insights sum never counts a duration twice.
    """
    meter = Meter()
    token = _current.set(meter)
    try:
        yield meter
    finally:
        _current.reset(token)
        if meter.usage:
            _flush(meter, tenant, tier if isinstance(tier, str) and tier else UNKNOWN_TIER)


def _flush(meter: Meter, tenant: str, tier: str) -> None:
    """Print one EMF record per tenant in ``meter``.

    A record that cannot be written is logged and dropped: the request it meters has
    already happened, and turning a write that succeeded into an error would make the
    caller retry it.
    """
    duration_ms = (time.perf_counter() - meter.started) * 1000.0
    meter.usage.setdefault(tenant, Usage())
    namespace = os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE
    try:
        metrics_class = emf_metrics_class()
        for used_by, usage in meter.usage.items():
            own = used_by == tenant
            metrics = metrics_class(namespace=namespace)
            metrics.add_dimension(name="tier", value=tier if own else UNKNOWN_TIER)
            metrics.add_metadata(key="tenant_id", value=used_by)
            metrics.add_metric(name="RCU", unit="Count", value=usage.rcu)
            metrics.add_metric(name="WCU", unit="Count", value=usage.wcu)
            metrics.add_metric(name="Requests", unit="Count", value=usage.requests)
            metrics.add_metric(
                name="Duration", unit="Milliseconds", value=duration_ms if own else 0.0
            )
            metrics.flush_metrics()
    except Exception:
        logger.exception("metering: the EMF record of tenant %s could not be written", tenant)
