"""TenantStatusCache: tenant records read through the control plane, bounded and TTL'd."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tenantkit._shared.dynamodb.tenant_status import TenantStatus, TenantStatusCache
from tenantkit.errors import ConfigurationError, TenantNotActiveError, TenantReadOnlyError
from tests.tables import create_keyed_table

TABLE = "pool-table"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_keyed_table(client, TABLE)
        yield client


@pytest.fixture
def sent(dynamodb: Any) -> Iterator[list[str]]:
    calls: list[str] = []

    def count(request: Any, **kwargs: Any) -> None:
        operation = request.headers.get("X-Amz-Target", b"").decode().split(".")[-1]
        if operation != "PutItem":  # the tests' own writes
            calls.append(operation)

    dynamodb.meta.events.register("before-send.dynamodb", count)
    yield calls
    dynamodb.meta.events.unregister("before-send.dynamodb", count)


def put_tenant(dynamodb: Any, tenant_id: str, **attributes: Any) -> None:
    """A tenant record as auth writes it, written raw (the tests' own idea of its shape)."""
    item = {"pk": {"S": f"_tenant#{tenant_id}"}, "sk": {"S": "_tenant"}}
    for name, value in attributes.items():
        item[name] = {"BOOL": value} if isinstance(value, bool) else {"S": value}
    dynamodb.put_item(TableName=TABLE, Item=item)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(dynamodb: Any, clock: Clock) -> TenantStatusCache:
    return TenantStatusCache(TABLE, client=dynamodb, ttl=60, maxsize=3, clock=clock)


def test_status_tier_and_placement_of_a_record(dynamodb: Any, cache: TenantStatusCache) -> None:
    put_tenant(dynamodb, "texas", status="active", tier="premium", apiKey="k-texas")
    put_tenant(dynamodb, "ohio", status="suspended", table="silo-ohio", readOnly=True)
    assert cache.status("texas") == TenantStatus(
        "texas", "active", "premium", TABLE, read_only=False, usage_key="k-texas"
    )
    assert cache.status("ohio") == TenantStatus(
        "ohio", "suspended", "basic", "silo-ohio", read_only=True
    )


def test_a_record_from_before_statuses_is_active_in_the_default_tier(dynamodb: Any) -> None:
    put_tenant(dynamodb, "utah")
    cache = TenantStatusCache(TABLE, client=dynamodb, default_tier="free", pool_table="pool")
    assert cache.status("utah") == TenantStatus("utah", "active", "free", "pool")


def test_an_unknown_status_never_opens_the_tenant(dynamodb: Any, cache: TenantStatusCache) -> None:
    put_tenant(dynamodb, "texas", status="reactivated-by-a-future-version")
    status = cache.status("texas")
    assert status is not None
    assert status.status == "suspended"
    with pytest.raises(TenantNotActiveError):
        cache.require_active("texas")


@pytest.mark.parametrize("state", ["suspended", "offboarding", "deleted"])
def test_require_active_refuses_every_other_status(
    dynamodb: Any, cache: TenantStatusCache, state: str
) -> None:
    put_tenant(dynamodb, "texas", status=state)
    with pytest.raises(TenantNotActiveError, match=state) as refused:
        cache.require_active("texas")
    assert refused.value.status_code == 403


def test_require_active_refuses_a_tenant_without_a_record(cache: TenantStatusCache) -> None:
    with pytest.raises(TenantNotActiveError, match="unknown"):
        cache.require_active("nobody")


def test_require_writable_refuses_a_moving_tenant_with_423(
    dynamodb: Any, cache: TenantStatusCache
) -> None:
    put_tenant(dynamodb, "texas", status="active", readOnly=True)
    cache.require_active("texas")  # reads go on
    with pytest.raises(TenantReadOnlyError) as refused:
        cache.require_writable("texas")
    assert refused.value.status_code == 423
    put_tenant(dynamodb, "ohio", status="active")
    cache.require_writable("ohio")


def test_one_read_per_tenant_per_ttl_and_a_change_seen_after_it(
    dynamodb: Any, cache: TenantStatusCache, clock: Clock, sent: list[str]
) -> None:
    put_tenant(dynamodb, "texas", status="active")
    for _ in range(5):
        cache.require_active("texas")
    assert sent == ["GetItem"]
    put_tenant(dynamodb, "texas", status="suspended")
    clock.now += 59.9
    cache.require_active("texas")  # within the TTL: the bound the docs state
    clock.now += 0.1
    with pytest.raises(TenantNotActiveError):
        cache.require_active("texas")
    assert sent == ["GetItem", "GetItem"]


def test_a_missing_tenant_is_remembered_too(cache: TenantStatusCache, sent: list[str]) -> None:
    assert cache.status("ghost") is None
    assert cache.status("ghost") is None
    assert sent == ["GetItem"]


def test_the_cache_is_bounded(dynamodb: Any, cache: TenantStatusCache, sent: list[str]) -> None:
    for name in ("a1", "a2", "a3", "a4"):
        cache.status(name)
    cache.status("a1")  # evicted by a4 (maxsize 3): read again
    assert sent == ["GetItem"] * 5


def test_forget_reads_again(dynamodb: Any, cache: TenantStatusCache, sent: list[str]) -> None:
    put_tenant(dynamodb, "texas", status="active")
    cache.status("texas")
    cache.forget("texas")
    cache.status("texas")
    assert sent == ["GetItem", "GetItem"]


def test_a_failed_read_raises_and_is_not_cached(
    dynamodb: Any, cache: TenantStatusCache, sent: list[str]
) -> None:
    dynamodb.delete_table(TableName=TABLE)
    for _ in range(2):
        with pytest.raises(Exception, match="ResourceNotFound"):
            cache.require_active("texas")
    assert sent.count("GetItem") == 2


@pytest.mark.parametrize(("ttl", "maxsize"), [(0, 10), (-1, 10), (60, 0)])
def test_a_cache_that_keeps_nothing_is_a_configuration_error(ttl: float, maxsize: int) -> None:
    with pytest.raises(ConfigurationError):
        TenantStatusCache(TABLE, ttl=ttl, maxsize=maxsize)
