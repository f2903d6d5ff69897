"""seed.json holds the issue's data, and the loader refuses a seed it cannot honour."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.examples.conftest import EXAMPLE, StateParks


def load_seed() -> dict[str, Any]:
    with (EXAMPLE / "seed.json").open() as f:
        seed: dict[str, Any] = json.load(f)
    return seed


def test_the_seed_is_the_issues_data() -> None:
    seed = load_seed()
    assert seed["loader"] == "seed:load"
    assert seed["tenants"] == ["texas", "washington", "colorado"]
    assert seed["tiers"] == {"texas": "premium", "washington": "basic", "colorado": "basic"}
    users = {u["id"]: (u["memberships"], u["active"]) for u in seed["users"]}
    assert users == {
        "alice": ({"texas": ["admin", "member"], "colorado": ["visitor"]}, "texas"),
        "bob": ({"washington": ["admin"]}, "washington"),
        "carol": ({"texas": ["visitor"]}, "texas"),
        "dave": ({}, None),
    }
    parks = {tenant: [p["id"] for p in items] for tenant, items in seed["parks"].items()}
    assert parks == {
        "texas": ["palo-duro-canyon", "big-bend-ranch", "enchanted-rock"],
        "washington": ["deception-pass", "cape-disappointment"],
        "colorado": ["eldorado-canyon", "roxborough"],
    }
    for items in seed["parks"].values():
        for park in items:
            assert park["status"] == "park-opened"
            assert park["name"].split()[0].lower() in park["id"].replace("-", " ")


def test_each_tenant_gets_its_tier_and_is_active(app: StateParks) -> None:
    import config

    from tenantkit.auth import TenantAdmin

    admin = TenantAdmin(config.setting("TABLE_NAME"), client=config.aws_client("dynamodb"))
    for tenant, tier in load_seed()["tiers"].items():
        status = admin.get(tenant)
        assert status is not None
        assert (status.tier, status.status) == (tier, "active")


def test_seeded_parks_carry_the_enumeration_attribute(app: StateParks) -> None:
    """As the direct routes' writes do: export and offboard find them without a scan."""
    import config

    items = config.aws_client("dynamodb").scan(TableName=config.setting("TABLE_NAME"))["Items"]
    parks = [item for item in items if item["sk"]["S"] == "park"]
    assert len(parks) == 7
    for park in parks:
        tenant = park["pk"]["S"].split("#")[0]
        assert park["tkshard"]["S"].startswith(f"{tenant}#")


def test_colorado_has_no_admin_so_nobody_can_add_members(app: StateParks) -> None:
    body = {"userId": "dave", "roles": ["visitor"]}
    path = {"customerId": "colorado"}
    refused = app.call("alice", "POST", "/customers/{customerId}/members", path, body=body)
    assert refused.status == 403


@pytest.mark.parametrize(
    "change",
    [
        {"memberships": {"texas": ["owner"]}},
        {"memberships": {"atlantis": ["admin"]}},
        {"memberships": {}, "active": "texas"},
    ],
)
def test_the_loader_refuses_a_seed_it_cannot_honour(
    app: StateParks, change: dict[str, Any]
) -> None:
    import seed as loader

    seed = load_seed()
    seed["users"][3] = {**seed["users"][3], **change}
    with pytest.raises(ValueError, match="seed user dave"):
        loader.load(seed, None)
