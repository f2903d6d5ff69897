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
