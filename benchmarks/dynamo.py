"""TenantTable against the raw boto3 client and boto3's ``resource("dynamodb").Table``.

Every request is answered by a botocore ``before-send`` hook with a canned HTTP response
(no moto, no network), so the figures measure client-side cost only: request building,
botocore serialisation and parsing, and (for TenantTable) prefixing, marshalling,
verification and cursor signing. The raw client gets pre-marshalled values and returns
``AttributeValue`` dicts untouched. Run: ``python benchmarks/dynamo.py``.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeSerializer
from botocore.awsrequest import AWSResponse

from tenantkit._shared.dynamodb.marshal import serialize_item
from tenantkit.context import TenantContext, tenant_scope
from tenantkit.dynamo import SecretKey, TenantTable

TABLE = "bench"
TENANT = "texas"
ROUNDS = 41


def _item(n: int) -> dict[str, Any]:
    """A typical 10-attribute park item, as the application sees it."""
    return {
        "pk": f"park#{n:04}",
        "sk": "meta",
        "GSI1PK": "parks",
        "GSI1SK": f"Park {n:04}",
        "name": f"Park number {n}",
        "acres": 1200 + n,
        "open": True,
        "county": "Brewster",
        "tags": ["desert", "river", "camping"],
        "contact": {"phone": "555-0100", "ranger": "Ana"},
    }


def _stored(n: int) -> dict[str, Any]:
    """The same item as DynamoDB stores it: partition keys carry the tenant prefix."""
    item = _item(n)
    item["pk"] = f"{TENANT}#{item['pk']}"
    item["GSI1PK"] = f"{TENANT}#{item['GSI1PK']}"
    return serialize_item(item)


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Any:
        yield self.data


def _canned(client: Any, operation: str, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()

    def answer(request: Any, **_: Any) -> AWSResponse:
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "bench"}
        return AWSResponse(request.url, 200, headers, _Body(data))

    client.meta.events.register(f"before-send.dynamodb.{operation}", answer)


def _client() -> Any:
    session = boto3.session.Session(
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        region_name="us-east-1",
    )
    return session, session.client("dynamodb")


def _compare(
    ours: Callable[[], object], theirs: Callable[[], object], number: int
) -> tuple[float, float]:
    """Best µs per call of each over interleaved rounds, so machine load affects both alike.

    As in ``timeit``, the garbage collector is off while timing; rounds alternate which
    side runs first.
    """
    ours(), theirs()
    times: dict[Callable[[], object], list[float]] = {ours: [], theirs: []}
    gc.collect()
    gc.disable()
    try:
        for round_ in range(ROUNDS):
            for fn in (ours, theirs) if round_ % 2 == 0 else (theirs, ours):
                start = time.perf_counter()
                for _ in range(number):
                    fn()
                times[fn].append((time.perf_counter() - start) / number * 1e6)
    finally:
        gc.enable()
    return min(times[ours]), min(times[theirs])


def _row(measure: str, ours: float, baseline: float, target: str) -> dict[str, Any]:
    return {
        "measure": measure,
        "tenantkit": ours,
        "baseline": baseline,
        "ratio": ours / baseline,
        "target": target,
    }


def results() -> list[dict[str, Any]]:
    get_body = {"Item": _stored(7)}
    page = [_stored(n) for n in range(25)]
    query_body = {
        "Items": page,
        "Count": 25,
        "ScannedCount": 25,
        "LastEvaluatedKey": {k: page[-1][k] for k in ("pk", "sk", "GSI1PK", "GSI1SK")},
    }
    session, raw = _client()
    _, scoped_client = _client()
    resource = session.resource("dynamodb")
    resource_table = resource.Table(TABLE)
    for client in (raw, scoped_client, resource.meta.client):
        _canned(client, "GetItem", get_body)
        _canned(client, "Query", query_body)
    table = TenantTable(TABLE, client=scoped_client, cursor_key=SecretKey(b"b" * 32))

    raw_key = {"pk": {"S": f"{TENANT}#park#0007"}, "sk": {"S": "meta"}}
    raw_query = {
        "TableName": TABLE,
        "IndexName": "GSI1",
        "KeyConditionExpression": "#p = :p",
        "ExpressionAttributeNames": {"#p": "GSI1PK"},
        "ExpressionAttributeValues": {":p": {"S": f"{TENANT}#parks"}},
        "Limit": 25,
    }
    rows = []
    with tenant_scope(TenantContext(tenant_id=TENANT, user_id="bench")):
        assert table.get_item({"pk": "park#0007", "sk": "meta"}) == _item(7)
        ours, base = _compare(
            lambda: table.get_item({"pk": "park#0007", "sk": "meta"}),
            lambda: raw.get_item(TableName=TABLE, Key=raw_key),
            100,
        )
        rows.append(_row("get_item vs raw client (µs)", ours, base, "<= 1.05x"))
        ours_q, base_q = _compare(
            lambda: table.query("parks", index="GSI1", limit=25),
            lambda: raw.query(**raw_query),
            20,
        )
        rows.append(_row("query, 25-item page vs raw client (µs)", ours_q, base_q, "<= 1.05x"))
        ours, base = _compare(
            lambda: table.get_item({"pk": "park#0007", "sk": "meta"}),
            lambda: resource_table.get_item(Key={"pk": f"{TENANT}#park#0007", "sk": "meta"}),
            100,
        )
        rows.append(_row("get_item vs resource Table (µs)", ours, base, "< 1.0x"))
        condition = Key("GSI1PK").eq(f"{TENANT}#parks")
        ours_q, base_q = _compare(
            lambda: table.query("parks", index="GSI1", limit=25),
            lambda: resource_table.query(
                IndexName="GSI1", KeyConditionExpression=condition, Limit=25
            ),
            20,
        )
        rows.append(_row("query, 25-item page vs resource Table (µs)", ours_q, base_q, "< 1.0x"))
    serializer = TypeSerializer()
    item = _item(7)
    ours, base = _compare(
        lambda: serialize_item(item),
        lambda: {k: serializer.serialize(v) for k, v in item.items()},
        3000,
    )
    rows.append(_row("marshal a 10-attribute item vs TypeSerializer (µs)", ours, base, "<= 0.5x"))
    return rows


if __name__ == "__main__":
    for row in results():
        print(
            f"{row['measure']:52} {row['tenantkit']:9.2f} {row['baseline']:9.2f} "
            f"{row['ratio']:6.2f}x  target {row['target']}"
        )
