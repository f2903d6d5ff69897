"""The cost of per-tenant metering: ``TenantTable(metering=True)`` against the same table
without it; the raw client asking for ``ReturnConsumedCapacity`` against not asking (the
part of the first that is botocore's, not tenantkit's); and a whole ``@tenant_handler``
invocation with its EMF record against one without.

Every request is answered by a botocore ``before-send`` hook with a canned HTTP response
(no moto, no network), as in ``dynamo.py``; the metered table's answer carries the
``ConsumedCapacity`` that DynamoDB adds when asked. A 3% bound is inside this machine's
noise (round-2 decision 30), so the two sides run in interleaved A/B rounds, and the
ratio reported is the median of the per-round ratios, with its spread (10th to 90th
percentile) in the measure. Run: ``python benchmarks/metering.py``.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from tenantkit import tenant_handler
from tenantkit._shared.dynamodb.marshal import serialize_item
from tenantkit.context import TenantContext, tenant_scope
from tenantkit.dynamo import TenantTable
from tenantkit.metering import metered_invocation

TABLE = "bench"
TENANT = "texas"
ROUNDS = 101
KEY = {"pk": "park#0007", "sk": "meta"}
EVENT = {
    "httpMethod": "GET",
    "path": "/parks/park#0007",
    "requestContext": {
        "requestId": "bench",
        "authorizer": {"userId": "alice", "tenantId": TENANT, "roles": "member", "tier": "basic"},
    },
}


def _stored() -> dict[str, Any]:
    """A typical 10-attribute park item as DynamoDB stores it (tenant-prefixed keys)."""
    return serialize_item(
        {
            "pk": f"{TENANT}#park#0007",
            "sk": "meta",
            "GSI1PK": f"{TENANT}#parks",
            "GSI1SK": "Park 0007",
            "name": "Park number 7",
            "acres": 1207,
            "open": True,
            "county": "Brewster",
            "tags": ["desert", "river", "camping"],
            "contact": {"phone": "555-0100", "ranger": "Ana"},
        }
    )


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Any:
        yield self.data


def _table(body: dict[str, Any], **options: Any) -> TenantTable:
    """A TenantTable whose client answers every GetItem with ``body``."""
    data = json.dumps(body).encode()

    def answer(request: Any, **_: Any) -> AWSResponse:
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "bench"}
        return AWSResponse(request.url, 200, headers, _Body(data))

    session = boto3.session.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
    )
    client = session.client("dynamodb")
    client.meta.events.register("before-send.dynamodb.GetItem", answer)
    return TenantTable(TABLE, client=client, **options)


def _ab_rounds(
    ours: Callable[[], object], baseline: Callable[[], object], number: int
) -> tuple[float, float, list[float]]:
    """Median µs per call of each side and the per-round ratios, over interleaved rounds.

    As in ``timeit``, the garbage collector is off while timing; rounds alternate which
    side runs first, so a change in machine load falls on both sides of a round alike.
    Times are this process's CPU time, not wall time: on a shared machine, time spent
    preempted by other processes would otherwise land on whichever side was running.
    """
    ours(), baseline()
    times: dict[Callable[[], object], list[float]] = {ours: [], baseline: []}
    gc.collect()
    gc.disable()
    try:
        for round_ in range(ROUNDS):
            for fn in (ours, baseline) if round_ % 2 == 0 else (baseline, ours):
                start = time.process_time()
                for _ in range(number):
                    fn()
                times[fn].append((time.process_time() - start) / number * 1e6)
    finally:
        gc.enable()
    ratios = [a / b for a, b in zip(times[ours], times[baseline], strict=True)]
    return statistics.median(times[ours]), statistics.median(times[baseline]), ratios


def _row(measure: str, ab: tuple[float, float, list[float]], target: str) -> dict[str, Any]:
    ours, baseline, ratios = ab
    deciles = statistics.quantiles(ratios, n=10)
    spread = f"p10-p90 {deciles[0]:.3f}-{deciles[-1]:.3f}x over {len(ratios)} rounds"
    return {
        "measure": f"{measure} (µs; median ratio {statistics.median(ratios):.3f}x, {spread})",
        "tenantkit": ours,
        "baseline": baseline,
        "ratio": statistics.median(ratios),
        "target": target,
    }


def results() -> list[dict[str, Any]]:
    item = _stored()
    plain = _table({"Item": item})
    metered = _table(
        {"Item": item, "ConsumedCapacity": {"TableName": TABLE, "CapacityUnits": 0.5}},
        metering=True,
    )
    rows = []
    with (
        tenant_scope(TenantContext(tenant_id=TENANT, user_id="bench")),
        contextlib.redirect_stdout(io.StringIO()),
        metered_invocation(TENANT, "basic") as meter,
    ):
        assert metered.get_item(KEY) == plain.get_item(KEY)
        ab = _ab_rounds(lambda: metered.get_item(KEY), lambda: plain.get_item(KEY), 20)
        assert meter.usage[TENANT].rcu == meter.usage[TENANT].requests * 0.5
    rows.append(_row("get_item, metered vs not", ab, "<= 1.03x"))
    # The floor: what asking DynamoDB for the capacity costs botocore alone.
    raw_metered, raw_plain = metered._client.get(), plain._client.get()
    raw_key = {"pk": {"S": f"{TENANT}#park#0007"}, "sk": {"S": "meta"}}
    ab = _ab_rounds(
        lambda: raw_metered.get_item(TableName=TABLE, Key=raw_key, ReturnConsumedCapacity="TOTAL"),
        lambda: raw_plain.get_item(TableName=TABLE, Key=raw_key),
        20,
    )
    rows.append(_row("raw client get_item, ReturnConsumedCapacity vs not", ab, "report"))

    @tenant_handler
    def metered_handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
        return {"statusCode": 200, "body": json.dumps(metered.get_item(KEY), default=str)}

    @tenant_handler
    def plain_handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
        return {"statusCode": 200, "body": json.dumps(plain.get_item(KEY), default=str)}

    records = io.StringIO()
    with contextlib.redirect_stdout(records):
        ab = _ab_rounds(lambda: metered_handler(EVENT), lambda: plain_handler(EVENT), 10)
    assert records.getvalue().count('"_aws"') == records.getvalue().count("\n") > 0
    rows.append(
        _row("@tenant_handler with one get_item and its EMF record vs unmetered", ab, "report")
    )
    return rows


if __name__ == "__main__":
    for row in results():
        print(
            f"{row['measure']}\n    {row['tenantkit']:9.2f} {row['baseline']:9.2f} "
            f"{row['ratio']:6.3f}x  target {row['target']}"
        )
