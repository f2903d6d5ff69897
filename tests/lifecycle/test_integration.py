"""``tenantkit tenant`` over HTTP against a moto server: real processes, SIGKILLed halfway.

1,000 items in texas (decision 29) beside 250 in each of two other tenants. Each command is killed
(SIGKILL, nothing flushed or caught) partway through, started again, and must finish
with nothing lost or duplicated, and not one item of another tenant touched.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tenantkit.auth.directory import UserDirectory
from tenantkit.auth.tenant_admin import TenantAdmin
from tenantkit.dynamo.enumeration import Enumeration
from tenantkit.lifecycle.records import Checksum, Manifest, decode_line
from tenantkit.lifecycle.runs import TableSpec
from tenantkit.lifecycle.transfer import manifest_path, read_lines

from .conftest import SILO, TABLE, create_table, park

pytestmark = pytest.mark.integration

KILLED = Path(__file__).with_name("killed_cli.py")
COMMON = ["--table", TABLE, "--shards", "4", "--actor", "ops-carol", "--no-progress"]
SIZES = {"texas": 1000, "utah": 250, "ohio": 250}


def tenant_cli(endpoint: str, *args: str, kill: tuple[str, int] | None = None) -> Any:
    """Run ``tenantkit tenant ...``; with ``kill``, SIGKILL it at that call of that operation."""
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    head = [str(KILLED), kill[0], str(kill[1])] if kill else ["-m", "tenantkit"]
    return subprocess.run(
        [sys.executable, *head, "tenant", *args, *COMMON],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def killed_then_finished(endpoint: str, kill: tuple[str, int], *args: str) -> dict[str, Any]:
    first = tenant_cli(endpoint, *args, kill=kill)
    assert first.returncode == -signal.SIGKILL, first.stderr
    second = tenant_cli(endpoint, *args)
    assert second.returncode == 0, second.stderr
    summary: dict[str, Any] = json.loads(second.stdout)
    return summary


def others(client: Any) -> list[dict[str, Any]]:
    """Every stored item of the other tenants, in both tables (the test may scan)."""
    found = []
    for table in (TABLE, SILO):
        for page in client.get_paginator("scan").paginate(TableName=table):
            found += [i for i in page["Items"] if i["pk"]["S"].startswith(("utah#", "ohio#"))]
    return sorted(found, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def test_every_command_killed_halfway_finishes_on_the_next_run(
    moto_reset: str, tmp_path: Path
) -> None:
    client = boto3.client("dynamodb", endpoint_url=moto_reset, region_name="us-east-1")
    create_table(client)
    create_table(client, SILO)
    spec = TableSpec(TABLE, client=client, enumeration=Enumeration(shards=4))
    directory = UserDirectory(TABLE, client=client)
    for name, count in SIZES.items():
        directory.create_user(f"owner-{name}")
        directory.create_tenant(name, owner_id=f"owner-{name}")
        spec.tenant_table(name).batch_write(put=[park(i, tenant=name) for i in range(count)])
    untouched = others(client)
    assert len(untouched) == 500

    out = tmp_path / "texas.jsonl"
    export = killed_then_finished(
        moto_reset, ("BatchGetItem", 6), "export", "texas", "--out", str(out)
    )
    lines = list(read_lines(out))
    pks = [decode_line(line)["pk"] for line in lines]
    assert len(pks) == len(set(pks)) == export["items"] == 1000
    manifest = Manifest.from_json(manifest_path(out).read_text())
    checksum = Checksum()
    for line in lines:
        checksum.add(line)
    assert checksum.hexdigest == manifest.checksum == export["checksum"]

    moved = killed_then_finished(
        moto_reset,
        ("BatchWriteItem", 20),
        "move",
        "texas",
        "--to-table",
        SILO,
        "--settle",
        "0",
        "--assume-indexed",
    )
    assert moved["sourceItems"] == 1000
    assert spec.tenant_table("texas", SILO).count_items() == 1000
    assert spec.tenant_table("texas").count_items() == 0
    assert TenantAdmin(TABLE, client=client).get("texas").table == SILO  # type: ignore[union-attr]

    offboarded = killed_then_finished(
        moto_reset,
        ("BatchWriteItem", 20),
        "offboard",
        "texas",
        "--yes",
        "--sweep-after",
        "0",
        "--assume-indexed",
    )
    assert offboarded["status"] == "deleted"
    assert spec.tenant_table("texas", SILO).count_items() == 0

    directory.create_user("owner-new-mexico")
    directory.create_tenant("new-mexico", owner_id="owner-new-mexico")  # import needs one
    imported = killed_then_finished(
        moto_reset, ("BatchWriteItem", 20), "import", str(out), "--tenant", "new-mexico"
    )
    assert imported["items"] == 1000
    assert spec.tenant_table("new-mexico").count_items() == 1000
    assert others(client) == untouched
