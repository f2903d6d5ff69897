"""Fixtures for tenantkit.dynamo: a moto table with one GSI, and tenant scopes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tenantkit._shared.dynamodb.transact import Transaction
from tenantkit.context import TenantContext
from tenantkit.dynamo import SecretKey, TenantTable
from tests.tables import create_gsi1_table

TABLE = "tenantkit-test"
SECRET = SecretKey(b"s" * 32)


def create_table(client: Any, name: str = TABLE) -> None:
    """The table shape tenantkit documents: pk/sk plus GSI1 on GSI1PK/GSI1SK."""
    create_gsi1_table(client, name)


def ctx(tenant: str) -> TenantContext:
    return TenantContext(tenant_id=tenant, user_id=f"user-{tenant}")


def transact(table: TenantTable, *operations: Callable[[Transaction], object]) -> None:
    """Run ``operations`` in one ``table.transaction()`` (a ``with`` block, for lambdas)."""
    with table.transaction() as tx:
        for operation in operations:
            operation(tx)


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(ddb)
        yield ddb


@pytest.fixture
def table(client: Any) -> TenantTable:
    """A TenantTable reading the tenant from the context (no pinned tenant)."""
    return TenantTable(TABLE, client=client, cursor_key=SECRET)


@pytest.fixture(scope="module")
def module_client() -> Iterator[Any]:
    """One moto table for a whole module, for tests that only need distinct keys.

    A module that uses it must not also use ``client``: nested ``mock_aws`` contexts
    would share, then reset, the same in-memory account.
    """
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(ddb)
        yield ddb


@pytest.fixture(scope="module")
def module_table(module_client: Any) -> TenantTable:
    return TenantTable(TABLE, client=module_client, cursor_key=SECRET)
