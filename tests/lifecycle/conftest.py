"""Fixtures for tenantkit.lifecycle: one moto app (table, tenants, users, webhooks)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import moto.sns.models
import pytest
from moto import mock_aws

from tenantkit.auth.directory import UserDirectory
from tenantkit.auth.tenant_admin import Operator, TenantAdmin
from tenantkit.dynamo.enumeration import Enumeration
from tenantkit.dynamo.table import TenantTable
from tenantkit.events.topics import TopicRegistry
from tenantkit.lifecycle.runs import Run, TableSpec
from tests.tables import create_gsi1_table

TABLE = "lifecycle-app"
SILO = "lifecycle-silo"
OPERATOR = Operator("ops-alice")


def create_table(client: Any, name: str = TABLE) -> None:
    """The app's table: pk/sk, GSI1 (tenant-prefixed GSI1PK) and TenantItems (decision 25)."""
    create_gsi1_table(client, name, tenant_items=True)


def park(i: int, **extra: Any) -> dict[str, Any]:
    return {"pk": f"park#{i:05}", "sk": "meta", "GSI1PK": "parks", "GSI1SK": f"{i:05}", **extra}


@dataclass
class App:
    dynamodb: Any
    sns: Any
    spec: TableSpec
    admin: TenantAdmin
    directory: UserDirectory
    registry: TopicRegistry

    def table(self, tenant: str, name: str = TABLE) -> TenantTable:
        return self.spec.tenant_table(tenant, name)

    def seed(self, tenant: str, count: int, *, owner: str | None = None) -> None:
        owner = owner or f"owner-{tenant}"
        if self.directory.get_user(owner) is None:
            self.directory.create_user(owner)
        self.directory.create_tenant(tenant, owner_id=owner)
        self.table(tenant).batch_write(put=[park(i, tenant=tenant) for i in range(count)])


def run(action: str, tenant: str | None) -> Run:
    return Run(action, tenant, actor=OPERATOR.name, progress=False)


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """moto in-process; SNS's webhook confirmations are recorded, never sent."""
    monkeypatch.setattr(moto.sns.models.requests, "post", lambda url, **kwargs: None)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        sns = boto3.client("sns", region_name="us-east-1")
        create_table(dynamodb)
        # Four shards: each shard costs a query per pass, and moto answers each one by
        # walking the whole table (16 shards are tested in tests/dynamo).
        spec = TableSpec(TABLE, client=dynamodb, enumeration=Enumeration(shards=4))
        yield App(
            dynamodb,
            sns,
            spec,
            TenantAdmin(TABLE, client=dynamodb),
            UserDirectory(TABLE, client=dynamodb),
            TopicRegistry(TABLE, dynamodb_client=dynamodb, sns_client=sns),
        )
