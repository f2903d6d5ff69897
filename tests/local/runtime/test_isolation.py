"""Tenant isolation mode through the gateway: the attack is one tenant reading what another
tenant's invocation left in a module global. A PER_TENANT function's environments serve
one tenant each, so it must fail; a pool function shares its globals, as Lambda's does."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from tenantkit.local.functions import Runtime
from tenantkit.local.gateway import Gateway, Response
from tests.local.runtime.isolation import post


def answer(response: Response) -> Any:
    assert response.status == 200, response.body
    return json.loads(response.body)


def test_attack_a_tenant_never_sees_another_tenants_module_globals(gateway: Gateway) -> None:
    seen_by: dict[str, list[Any]] = {}
    for tenant, value in [("texas", 1), ("washington", 2), ("texas", 3), ("washington", 4)]:
        body = answer(post(gateway, "/remember/tenant", {"tenant": tenant, "n": value}, tenant))
        assert body["tenant_id"] == tenant
        seen_by[tenant] = body["seen"]
    assert seen_by["texas"] == [{"tenant": "texas", "n": 1}, {"tenant": "texas", "n": 3}]
    assert seen_by["washington"] == [
        {"tenant": "washington", "n": 2},
        {"tenant": "washington", "n": 4},
    ]


def test_a_pool_function_shares_its_globals_across_tenants(gateway: Gateway) -> None:
    answer(post(gateway, "/remember/pool", {"n": 1}, "texas"))
    body = answer(post(gateway, "/remember/pool", {"n": 2}, "washington"))
    assert body["seen"] == [{"n": 1}, {"n": 2}]
    assert body["tenant_id"] is None
    assert body["only_here"] == "pooled"


def test_a_per_tenant_function_without_a_mapped_tenant_fails(gateway: Gateway) -> None:
    """Lambda refuses the invocation (InvalidParameterValueException): API Gateway's 500."""
    response = post(gateway, "/remember/unmapped", {"n": 1})
    assert (response.status, json.loads(response.body)) == (
        500,
        {"message": "Internal server error"},
    )


def test_a_pool_function_refuses_a_tenant_id(gateway: Gateway) -> None:
    assert post(gateway, "/remember/pool-with-tenant", {"n": 1}).status == 500


def test_the_tenant_comes_from_the_authorizer_not_the_caller(gateway: Gateway) -> None:
    """A caller's own X-Amz-Tenant-Id header is a method request header: the mapping
    reads the authorizer's context, never it."""
    from tenantkit.local.gateway import Request

    response = gateway.handle(
        Request(
            "POST",
            "/remember/tenant",
            [],
            [("X-Tenant", "texas"), ("X-Amz-Tenant-Id", "washington")],
            b'{"n": 1}',
        )
    )
    assert answer(response)["tenant_id"] == "texas"


def test_a_crash_is_502_and_the_next_call_gets_a_fresh_environment(gateway: Gateway) -> None:
    first = answer(post(gateway, "/misc/pid", {}))["pid"]
    crashed = post(gateway, "/misc/crash", {})
    assert (crashed.status, json.loads(crashed.body)) == (502, {"message": "Internal server error"})
    assert answer(post(gateway, "/misc/pid", {}))["pid"] != first


def test_a_timeout_is_502_and_kills_the_environment(gateway: Gateway) -> None:
    first = answer(post(gateway, "/misc/pid", {}))["pid"]
    assert post(gateway, "/misc/sleep", {"seconds": 5}).status == 502  # Timeout: 1
    assert answer(post(gateway, "/misc/pid", {}))["pid"] != first


def test_reserved_concurrency_past_it_is_500_through_the_gateway(
    gateway: Gateway, runtime: Runtime, tmp_path: Path
) -> None:
    """Lambda throttles (429) and API Gateway answers a throttled Lambda with a 500."""
    release = tmp_path / "release"
    busy = threading.Thread(target=post, args=(gateway, "/scarce/hold", {"until": str(release)}))
    busy.start()
    try:
        deadline = time.monotonic() + 10
        while runtime.environments("Scarce") == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert post(gateway, "/scarce/pid", {}).status == 500
    finally:
        release.touch()
        busy.join()
    assert post(gateway, "/scarce/pid", {}).status == 200
