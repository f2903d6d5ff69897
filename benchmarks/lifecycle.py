"""Lifecycle throughput over HTTP: export and offboard 10,000 items beside 10,000 others.

A moto server on a free loopback port (stopped by PID) holds two tenants of 10,000 items
each. tenantkit exports and offboards one through the enumeration index (GSI queries
and batched reads and deletes); the baseline does the same to the other the way tools
without an index do, with a filtered ``Scan`` of the whole table (and 25-item
``BatchWriteItem`` deletes). Both run in the same process against the same server.
Reported: items per second (higher is better); the ratio is tenantkit's over the
baseline's. moto answers each GSI query by walking the whole table, so the ratio
understates the index: on DynamoDB a ``Scan`` reads, and bills, every tenant's items.
Run: ``python benchmarks/lifecycle.py`` (``TENANTKIT_BENCH_ITEMS`` changes the size).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

from tenantkit.auth.directory import UserDirectory
from tenantkit.auth.tenant_admin import Operator, TenantAdmin
from tenantkit.dynamo.enumeration import Enumeration
from tenantkit.lifecycle.offboard import Offboarding
from tenantkit.lifecycle.records import encode_line
from tenantkit.lifecycle.runs import Run, TableSpec
from tenantkit.lifecycle.transfer import export_tenant

TABLE = "bench-lifecycle"
ITEMS = int(os.environ.get("TENANTKIT_BENCH_ITEMS", "10000"))
OURS, THEIRS = "texas", "nevada"


@contextmanager
def moto_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _create_table(client: Any) -> None:
    client.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "GSI1PK", "tkshard")
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": name,
                "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": projection},
            }
            for name, key, projection in (
                ("GSI1", "GSI1PK", "ALL"),
                ("TenantItems", "tkshard", "KEYS_ONLY"),
            )
        ],
    )


def _item(i: int) -> dict[str, Any]:
    return {"pk": f"park#{i:05}", "sk": "meta", "GSI1PK": "parks", "name": f"Park {i}", "acres": i}


def _scan(client: Any, tenant: str) -> Iterator[list[dict[str, Any]]]:
    """The baseline's way to find a tenant's items: a filtered Scan of the whole table."""
    paginator = client.get_paginator("scan")
    for page in paginator.paginate(
        TableName=TABLE,
        FilterExpression="begins_with(pk, :t)",
        ExpressionAttributeValues={":t": {"S": f"{tenant}#"}},
    ):
        yield page["Items"]


def _baseline_export(client: Any, out: Path) -> int:
    from tenantkit._shared.dynamodb.marshal import deserialize_item

    count = 0
    with out.open("w", encoding="utf-8") as handle:
        for items in _scan(client, THEIRS):
            for raw in items:
                item = deserialize_item(raw)
                item["pk"] = item["pk"].split("#", 1)[1]
                item["GSI1PK"] = item["GSI1PK"].split("#", 1)[1]
                item.pop("tkshard", None)
                handle.write(encode_line(item) + "\n")
                count += 1
    return count


def _baseline_offboard(client: Any) -> int:
    count = 0
    for items in _scan(client, THEIRS):
        keys = [{"pk": raw["pk"], "sk": raw["sk"]} for raw in items]
        for begin in range(0, len(keys), 25):
            chunk = [{"DeleteRequest": {"Key": k}} for k in keys[begin : begin + 25]]
            pending: dict[str, Any] = {TABLE: chunk}
            while pending:
                pending = client.batch_write_item(RequestItems=pending)["UnprocessedItems"]
            count += len(keys[begin : begin + 25])
    return count


def _timed(work: Any) -> tuple[int, float]:
    start = time.perf_counter()
    count = work()
    return count, count / (time.perf_counter() - start)


def _row(measure: str, ours: float, baseline: float) -> dict[str, Any]:
    return {
        "measure": measure,
        "tenantkit": ours,
        "baseline": baseline,
        "ratio": ours / baseline,
        "target": "report",
    }


def results() -> list[dict[str, Any]]:
    with moto_server() as url, tempfile.TemporaryDirectory() as scratch:
        client = boto3.client(
            "dynamodb",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        _create_table(client)
        spec = TableSpec(TABLE, client=client, enumeration=Enumeration())
        directory = UserDirectory(TABLE, client=client)
        for tenant in (OURS, THEIRS):
            directory.create_user(f"owner-{tenant}")
            directory.create_tenant(tenant, owner_id=f"owner-{tenant}")
            spec.tenant_table(tenant).batch_write(put=[_item(i) for i in range(ITEMS)])
        operator = Operator("bench")
        admin = TenantAdmin(TABLE, client=client)
        run = Run("export", OURS, actor="bench", progress=False)
        exported, ours_export = _timed(
            lambda: export_tenant(spec, OURS, Path(scratch, "ours.jsonl"), run, admin=admin).items
        )
        theirs_count, base_export = _timed(lambda: _baseline_export(client, Path(scratch, "b")))
        assert exported == theirs_count == ITEMS, (exported, theirs_count)
        offboarding = Offboarding(spec, admin, operator, registry=None)
        run = Run("offboard", OURS, actor="bench", progress=False)
        deleted, ours_offboard = _timed(
            lambda: offboarding.run(OURS, run, sweep_after=0, assume_indexed=True)["items"]
        )
        base_deleted, base_offboard = _timed(lambda: _baseline_offboard(client))
        assert deleted == base_deleted == ITEMS, (deleted, base_deleted)
    size = f"{ITEMS // 1000}k items beside {ITEMS // 1000}k"
    return [
        _row(f"export {size} (items/s)", ours_export, base_export),
        _row(f"offboard {size} (items/s)", ours_offboard, base_offboard),
    ]


if __name__ == "__main__":
    for row in results():
        print(row)
