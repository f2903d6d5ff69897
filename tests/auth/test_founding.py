"""Founding tenants: a cap per user, and ids that differ only in case taken (moto in-process).

Concurrency tests run threads against moto with each DynamoDB request made atomic (see
``serial_dynamodb``), which is DynamoDB's own guarantee: a request, a transaction
included, is applied whole or not at all. So the only races left are those between
requests, which is what an implementation that reads a count and then writes would lose.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from moto.dynamodb.responses import DynamoHandler

from tenantkit.auth.directory import DEFAULT_MAX_FOUNDED_TENANTS_PER_USER, UserDirectory
from tenantkit.auth.founding import FOUNDED_COUNT
from tenantkit.errors import (
    ConditionFailedError,
    ConfigurationError,
    ConflictError,
    InvalidTenantIdError,
    LimitExceededError,
    NotFoundError,
)

from .conftest import ROLE_MAP, TABLE

CAP = 5


@pytest.fixture
def capped(dynamodb: Any) -> UserDirectory:
    """A directory whose users may found at most ``CAP`` tenants; alice, bob and carol exist."""
    users = UserDirectory(
        TABLE, client=dynamodb, known_roles=ROLE_MAP["roles"], max_founded_tenants_per_user=CAP
    )
    for user_id in ("alice", "bob", "carol"):
        users.create_user(user_id)
    return users


@pytest.fixture
def serial_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make each request to moto's DynamoDB atomic, as DynamoDB makes it.

    moto applies a transaction step by step and rolls back by restoring a copy of the
    table, so two threads inside it at once corrupt each other's writes. One lock per
    request models DynamoDB's per-request isolation without serialising anything more.
    """
    lock = threading.Lock()
    original = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)


def all_at_once(calls: list[Callable[[], None]]) -> list[BaseException | None]:
    """Run every call on its own thread, released together; each one's error or ``None``."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], None]) -> BaseException | None:
        start.wait()
        try:
            call()
        except Exception as error:
            return error
        return None

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def founded(users: UserDirectory, user_id: str) -> set[str]:
    user = users.get_user(user_id)
    assert user is not None
    return set(user.memberships)


def tenant_items(dynamodb: Any) -> set[str]:
    items = dynamodb.scan(TableName=TABLE)["Items"]
    return {item["tenantId"]["S"] for item in items if item["sk"]["S"] == "_tenant"}


def is_claim(item: dict[str, Any]) -> bool:
    return item["pk"]["S"].startswith("_tenantid#")


# -- the cap ----------------------------------------------------------------------------


def test_attack_one_user_founds_one_tenant_more_than_the_cap(
    capped: UserDirectory, dynamodb: Any
) -> None:
    for number in range(CAP):
        capped.create_tenant(f"state{number}", owner_id="alice")
    with pytest.raises(LimitExceededError, match=f"at most {CAP}") as refused:
        capped.create_tenant("state5", owner_id="alice")
    assert 400 <= refused.value.status_code < 500
    assert founded(capped, "alice") == {f"state{n}" for n in range(CAP)}
    assert capped.get_tenant("state5") is None  # the transaction wrote nothing
    assert "state5" not in tenant_items(dynamodb)
    # The id is not claimed either: another user may found it, and the cap is per user.
    capped.create_tenant("state5", owner_id="bob")
    assert founded(capped, "bob") == {"state5"}


def test_attack_concurrent_foundings_past_the_cap(
    capped: UserDirectory, dynamodb: Any, serial_dynamodb: None
) -> None:
    tenants = [f"rush{number}" for number in range(4 * CAP)]
    outcomes = all_at_once(
        [lambda t=tenant: capped.create_tenant(t, owner_id="alice") for tenant in tenants]
    )
    won = {tenant for tenant, error in zip(tenants, outcomes, strict=True) if error is None}
    refused = [error for error in outcomes if error is not None]
    assert len(won) == CAP
    assert all(isinstance(error, LimitExceededError) for error in refused), refused
    assert founded(capped, "alice") == won
    assert tenant_items(dynamodb) == won
    user = dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": "_user#alice"}, "sk": {"S": "_user"}}
    )
    assert user["Item"][FOUNDED_COUNT] == {"N": str(CAP)}


def test_memberships_granted_by_others_do_not_count(capped: UserDirectory) -> None:
    capped.create_tenant("texas", owner_id="bob")
    capped.add_member("texas", "alice", ["member"], actor_id="bob")
    capped.provision_membership("ohio", "alice", ["admin"])
    for number in range(CAP):
        capped.create_tenant(f"state{number}", owner_id="alice")
    assert len(founded(capped, "alice")) == CAP + 2


def test_leaving_a_founded_tenant_does_not_restore_the_allowance(capped: UserDirectory) -> None:
    """The cap counts foundings, so found-add-leave cannot mint tenants without limit."""
    for number in range(CAP):
        capped.create_tenant(f"state{number}", owner_id="alice")
        capped.add_member(f"state{number}", "bob", ["admin"], actor_id="alice")
        capped.remove_member(f"state{number}", "alice", actor_id="alice")
    assert founded(capped, "alice") == set()
    with pytest.raises(LimitExceededError):
        capped.create_tenant("another", owner_id="alice")


def test_a_cap_of_zero_refuses_every_founding_and_none_means_no_cap(dynamodb: Any) -> None:
    closed = UserDirectory(TABLE, client=dynamodb, max_founded_tenants_per_user=0)
    closed.create_user("alice")
    with pytest.raises(LimitExceededError):
        closed.create_tenant("texas", owner_id="alice")
    unlimited = UserDirectory(TABLE, client=dynamodb, max_founded_tenants_per_user=None)
    for number in range(CAP + 3):
        unlimited.create_tenant(f"state{number}", owner_id="alice")
    assert len(founded(unlimited, "alice")) == CAP + 3


def test_the_default_is_a_cap(dynamodb: Any) -> None:
    users = UserDirectory(TABLE, client=dynamodb)
    assert users.max_founded_tenants_per_user == DEFAULT_MAX_FOUNDED_TENANTS_PER_USER == 10


@pytest.mark.parametrize("cap", [-1, 1.5, "5", True])
def test_a_malformed_cap_is_a_configuration_error(dynamodb: Any, cap: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_founded_tenants_per_user"):
        UserDirectory(TABLE, client=dynamodb, max_founded_tenants_per_user=cap)


def test_an_unknown_owner_is_not_found_even_at_cap_zero(dynamodb: Any) -> None:
    users = UserDirectory(TABLE, client=dynamodb, max_founded_tenants_per_user=0)
    with pytest.raises(NotFoundError):
        users.create_tenant("texas", owner_id="nobody")


# -- ids that differ only in case ------------------------------------------------------


@pytest.mark.parametrize("variant", ["Texas", "TEXAS", "tExAs"])
def test_attack_texas_beside_texas(capped: UserDirectory, dynamodb: Any, variant: str) -> None:
    capped.create_tenant("texas", owner_id="alice")
    with pytest.raises(ConflictError, match="case"):
        capped.create_tenant(variant, owner_id="carol")
    assert capped.get_tenant(variant) is None
    assert tenant_items(dynamodb) == {"texas"}
    assert founded(capped, "carol") == set()
    # The refused founding did not use up any of carol's allowance.
    for number in range(CAP):
        capped.create_tenant(f"state{number}", owner_id="carol")


@pytest.mark.parametrize(
    ("first", "variant"),
    [("new-york", "new_york"), ("new_york", "New-York"), ("a-b_c", "A_B-C")],
)
def test_attack_look_alike_ids_differing_in_dash_or_underscore(
    capped: UserDirectory, first: str, variant: str
) -> None:
    """``-`` and ``_`` read alike in a URL or a list: they are one id, like letter cases."""
    capped.create_tenant(first, owner_id="alice")
    with pytest.raises(ConflictError):
        capped.create_tenant(variant, owner_id="carol")
    assert capped.get_tenant(variant) is None


def test_attack_lowercase_beside_a_capitalised_tenant(capped: UserDirectory) -> None:
    capped.create_tenant("NewMexico", owner_id="alice")
    for variant in ("newmexico", "NEWMEXICO", "Newmexico"):
        with pytest.raises(ConflictError):
            capped.create_tenant(variant, owner_id="bob")
    with pytest.raises(ConflictError, match="already exists"):
        capped.create_tenant("NewMexico", owner_id="bob")
    assert founded(capped, "bob") == set()


def test_attack_concurrent_case_variants(
    capped: UserDirectory, dynamodb: Any, serial_dynamodb: None
) -> None:
    variants = ["texas", "Texas", "TEXAS", "tExAs", "teXas", "TExas"]
    owners = [f"user{number}" for number in range(len(variants))]
    for owner in owners:
        capped.create_user(owner)
    outcomes = all_at_once(
        [
            lambda v=variant, o=owner: capped.create_tenant(v, owner_id=o)
            for variant, owner in zip(variants, owners, strict=True)
        ]
    )
    assert outcomes.count(None) == 1
    assert all(isinstance(e, ConflictError) for e in outcomes if e is not None), outcomes
    assert len(tenant_items(dynamodb)) == 1


def test_provisioning_refuses_a_case_variant_and_claims_the_id(capped: UserDirectory) -> None:
    capped.create_tenant("texas", owner_id="alice")
    with pytest.raises(ConflictError, match="case"):
        capped.provision_membership("Texas", "bob", ["admin"])
    assert capped.get_tenant("Texas") is None
    assert founded(capped, "bob") == set()
    capped.provision_membership("Colorado", "bob", ["admin"])
    capped.provision_membership("Colorado", "carol", ["visitor"])  # the same id, again
    with pytest.raises(ConflictError, match="case"):
        capped.create_tenant("colorado", owner_id="carol")


def test_tenants_from_before_claims_still_block_their_lowercase_variants(
    capped: UserDirectory, dynamodb: Any
) -> None:
    """A tenant item written before claims existed has no claim item beside it."""
    capped.create_tenant("texas", owner_id="alice")
    capped.create_tenant("Ohio", owner_id="alice")
    for claim in (item for item in dynamodb.scan(TableName=TABLE)["Items"] if is_claim(item)):
        dynamodb.delete_item(TableName=TABLE, Key={"pk": claim["pk"], "sk": claim["sk"]})
    with pytest.raises(ConflictError):
        capped.create_tenant("Texas", owner_id="bob")  # the lowercase tenant item is checked
    with pytest.raises(ConflictError):
        capped.create_tenant("Ohio", owner_id="bob")  # the exact tenant item is checked
    # A mixed-case legacy id gets its claim back when provisioning touches it again.
    capped.provision_membership("Ohio", "alice", ["admin"])
    with pytest.raises(ConflictError, match="case"):
        capped.create_tenant("OHIO", owner_id="bob")
    assert founded(capped, "bob") == set()


def test_the_claim_lives_in_the_reserved_namespace(capped: UserDirectory, dynamodb: Any) -> None:
    capped.create_tenant("NewYork", owner_id="alice")
    claims = [item for item in dynamodb.scan(TableName=TABLE)["Items"] if is_claim(item)]
    assert [(c["pk"]["S"], c["tenantId"]["S"]) for c in claims] == [
        ("_tenantid#newyork", "NewYork")
    ]
    with pytest.raises(InvalidTenantIdError):
        capped.create_tenant("_tenantid", owner_id="alice")


# -- contention ----------------------------------------------------------------------------


@pytest.fixture
def conflicting(capped: UserDirectory, monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB cancels a transaction that meets another one on the same item."""
    from botocore.exceptions import ClientError

    def transact_write_items(**request: Any) -> Any:
        reasons = [{"Code": "None"}] * len(request["TransactItems"])
        reasons[1] = {"Code": "TransactionConflict"}
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                "CancellationReasons": reasons,
            },
            "TransactWriteItems",
        )

    monkeypatch.setattr(capped.client, "transact_write_items", transact_write_items)


def test_a_transaction_conflict_is_a_409_to_retry_not_a_taken_id(
    capped: UserDirectory, conflicting: None
) -> None:
    for attempt in (
        lambda: capped.create_tenant("texas", owner_id="alice"),
        lambda: capped.provision_membership("texas", "alice", ["admin"]),
    ):
        with pytest.raises(ConditionFailedError, match="try again") as refused:
            attempt()
        assert refused.value.status_code == 409
        assert not isinstance(refused.value, ConflictError)
