"""tenantkit.metering: capacity per tenant per invocation, flushed as one EMF record.

The oracle for what a metered table must add up is what DynamoDB (moto) reported:
a botocore ``after-call`` hook on the client collects every response's
``ConsumedCapacity``, and the tests sum it with their own rule, written here.
The records are read back as CloudWatch would: JSON lines on stdout.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from botocore import xform_name
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tenantkit import TenantContext, tenant_handler, tenant_scope
from tenantkit import metering as metering_module
from tenantkit.dynamo import TenantTable
from tenantkit.dynamo.enumeration import Enumeration
from tenantkit.errors import ConditionFailedError, ConfigurationError
from tenantkit.metering import Meter, metered_invocation, record
from tests.dynamo.conftest import TABLE, create_table
from tests.test_architecture import SRC, outside, tenantkit_imports

READS = ["get_item", "query", "batch_get_item", "transact_get_items"]
WRITES = ["put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items"]
ALICE = {"principalId": "alice", "userId": "alice", "tenantId": "texas", "roles": '["admin"]'}


def rest_event(**authorizer: Any) -> dict[str, Any]:
    return {
        "httpMethod": "GET",
        "path": "/parks",
        "requestContext": {"requestId": "r-1", "authorizer": {**ALICE, **authorizer}},
    }


def http_event(**authorizer: Any) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "GET /parks",
        "requestContext": {
            "requestId": "r-2",
            "http": {"method": "GET", "path": "/parks"},
            "authorizer": {"lambda": {**ALICE, **authorizer}},
        },
    }


def expected_usage(calls: list[tuple[str, Any]]) -> tuple[float, float, int]:
    """RCU, WCU and requests of ``calls`` (operation, ``ConsumedCapacity``) by the
    documented rule: explicit read and write units where DynamoDB gives them, else
    ``CapacityUnits`` by the kind of operation; a failed call (``None``) is a request."""
    rcu = wcu = 0.0
    for operation, consumed in calls:
        entries = [] if consumed is None else consumed if isinstance(consumed, list) else [consumed]
        for entry in entries:
            if "ReadCapacityUnits" in entry or "WriteCapacityUnits" in entry:
                rcu += entry.get("ReadCapacityUnits", 0.0)
                wcu += entry.get("WriteCapacityUnits", 0.0)
            elif operation in READS:
                rcu += entry["CapacityUnits"]
            else:
                wcu += entry["CapacityUnits"]
    return rcu, wcu, len(calls)


class Reported:
    """What DynamoDB answered, seen from the client: one (operation, capacity) per call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def __call__(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((xform_name(model.name), parsed.get("ConsumedCapacity")))

    def totals(self) -> tuple[float, float, int]:
        return expected_usage(self.calls)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """One moto table for the module: every test's totals come from its own hooks."""
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(ddb)
        yield ddb


@pytest.fixture
def reported(client: Any) -> Iterator[Reported]:
    seen = Reported()
    client.meta.events.register("after-call.dynamodb", seen)
    yield seen
    client.meta.events.unregister("after-call.dynamodb", seen)


@pytest.fixture
def sent(client: Any) -> Iterator[list[dict[str, Any]]]:
    """The parameters of every request the client sends."""
    sent_params: list[dict[str, Any]] = []

    def keep(params: dict[str, Any], **_: Any) -> None:
        sent_params.append(dict(params))

    client.meta.events.register("provide-client-params.dynamodb", keep)
    yield sent_params
    client.meta.events.unregister("provide-client-params.dynamodb", keep)


@pytest.fixture(autouse=True)
def plain_powertools_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No service dimension, namespace or switch from the environment unless a test sets one."""
    for name in (
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_METRICS_DISABLED",
        "POWERTOOLS_DEV",
    ):
        monkeypatch.delenv(name, raising=False)


def records(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def value(record_: dict[str, Any], name: str) -> float:
    """A metric's value: Powertools writes each as a one-element list."""
    (only,) = record_[name]
    return float(only)


def dimensions(record_: dict[str, Any]) -> list[list[str]]:
    (directive,) = record_["_aws"]["CloudWatchMetrics"]
    found: list[list[str]] = directive["Dimensions"]
    return found


def use_every_operation(table: TenantTable) -> None:
    """One call of each kind a TenantTable sends: single items, queries, batches,
    transactions."""
    table.put_item(
        {"pk": "park#1", "sk": "meta", "GSI1PK": "parks", "GSI1SK": "a", "v": "x" * 5000}
    )
    table.get_item({"pk": "park#1", "sk": "meta"})
    table.update_item({"pk": "park#1", "sk": "meta"}, set={"open": True})
    table.query("park#1")
    table.count("parks", index="GSI1", sort=Key("GSI1SK").begins_with("a"))
    table.batch_write([{"pk": f"park#{n}", "sk": "meta"} for n in range(2, 5)])
    table.batch_get([{"pk": f"park#{n}", "sk": "meta"} for n in range(1, 5)])
    with table.transaction() as tx:
        tx.put({"pk": "park#9", "sk": "meta"})
    table.transact_get([{"pk": "park#9", "sk": "meta"}])
    table.delete_item({"pk": "park#2", "sk": "meta"})


# -- the accumulator ----------------------------------------------------------------------

_entry = st.fixed_dictionaries(
    {"CapacityUnits": st.sampled_from([0.5, 1.0, 2.0, 4.5])},
    optional={
        "ReadCapacityUnits": st.sampled_from([0.5, 2.0]),
        "WriteCapacityUnits": st.sampled_from([1.0, 3.0]),
    },
)
_calls = st.lists(
    st.tuples(
        st.sampled_from(["texas", "utah"]),
        st.sampled_from([*READS, *WRITES]),
        st.one_of(st.none(), _entry, st.lists(_entry, max_size=3)),
    ),
    max_size=12,
)


@settings(max_examples=100)
@given(_calls)
def test_the_meter_adds_up_capacity_per_tenant_as_the_rule_says(
    calls: list[tuple[str, str, Any]],
) -> None:
    expected = {
        tenant: expected_usage([(op, consumed) for t, op, consumed in calls if t == tenant])
        for tenant, _, _ in calls
    }
    meter = Meter()
    for tenant, operation, consumed in calls:
        meter.add(tenant, operation, consumed)
    # Halves and whole units add up exactly in binary floating point.
    assert {t: (u.rcu, u.wcu, u.requests) for t, u in meter.usage.items()} == expected


def test_a_request_outside_an_invocation_is_not_recorded() -> None:
    record("texas", "get_item", {"ConsumedCapacity": {"CapacityUnits": 1.0}})
    with metered_invocation("texas") as meter:
        pass
    assert meter.usage == {}


def test_a_nested_invocation_has_its_own_meter_and_restores_the_outer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with metered_invocation("texas", "basic") as outer:
        record("texas", "get_item", {"ConsumedCapacity": {"CapacityUnits": 1.0}})
        with metered_invocation("texas", "basic") as inner:
            record("texas", "put_item", {"ConsumedCapacity": {"CapacityUnits": 2.0}})
        record("texas", "get_item", {"ConsumedCapacity": {"CapacityUnits": 0.5}})
    assert (inner.usage["texas"].wcu, inner.usage["texas"].requests) == (2.0, 1)
    assert (outer.usage["texas"].rcu, outer.usage["texas"].requests) == (1.5, 2)
    assert [value(r, "Requests") for r in records(capsys.readouterr().out)] == [1.0, 2.0]


def test_metering_imports_nothing_of_tenantkit_but_errors() -> None:
    """It sits on the bottom floor beside context, so TenantTable can feed it."""
    found = tenantkit_imports(SRC / "metering.py", "tenantkit")
    assert outside(found, ("tenantkit.errors",)) == set()


# -- TenantTable(metering=True) -----------------------------------------------------------


def test_a_metered_table_asks_for_capacity_and_adds_what_dynamodb_reported(
    client: Any, reported: Reported, sent: list[dict[str, Any]]
) -> None:
    table = TenantTable(TABLE, client=client, metering=True)
    with tenant_scope(TenantContext("texas", "alice")), metered_invocation("texas") as meter:
        use_every_operation(table)
    assert len(sent) == 10
    assert all(p.get("ReturnConsumedCapacity") == "TOTAL" for p in sent)
    usage = meter.usage["texas"]
    assert (usage.rcu, usage.wcu, usage.requests) == reported.totals()
    assert min(usage.rcu, usage.wcu) > 0
    assert set(meter.usage) == {"texas"}


def test_an_unmetered_table_asks_for_nothing_and_prints_nothing(
    client: Any, sent: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    table = TenantTable(TABLE, client=client)

    @tenant_handler
    def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
        use_every_operation(table)
        return {"statusCode": 200, "body": "{}"}

    assert handler(rest_event(tier="premium"))["statusCode"] == 200
    assert len(sent) == 10
    assert not any("ReturnConsumedCapacity" in p for p in sent)
    assert capsys.readouterr().out == ""


def test_a_failed_request_counts_as_a_request(client: Any) -> None:
    table = TenantTable(TABLE, client=client, metering=True)
    with tenant_scope(TenantContext("texas", "alice")), metered_invocation("texas") as meter:
        table.put_item({"pk": "p", "sk": "s"})
        with pytest.raises(ConditionFailedError):
            table.put_item({"pk": "p", "sk": "s"}, if_not_exists=True)
    assert meter.usage["texas"].requests == 2


def test_metering_without_powertools_is_a_configuration_error_at_setup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "aws_lambda_powertools.metrics", None)
    with pytest.raises(ConfigurationError, match=r"tenantkit\[powertools\]"):
        TenantTable(TABLE, metering=True)
    TenantTable(TABLE)  # without metering nothing needs Powertools


def test_powertools_is_imported_only_when_metering_is_on() -> None:
    probe = (
        "import sys\n"
        "from tenantkit import tenant_handler\n"
        "from tenantkit.dynamo import TenantTable\n"
        "TenantTable('t')\n"
        "print('aws_lambda_powertools' in sys.modules)\n"
        "TenantTable('t', metering=True)\n"
        "print('aws_lambda_powertools' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "True"]


# -- the EMF record -----------------------------------------------------------------------


@pytest.mark.parametrize("make_event", [rest_event, http_event])
def test_one_record_per_invocation_tenant_a_property_tier_a_dimension(
    client: Any, reported: Reported, capsys: pytest.CaptureFixture[str], make_event: Any
) -> None:
    table = TenantTable(TABLE, client=client, metering=True)

    @tenant_handler
    def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
        use_every_operation(table)
        return {"statusCode": 200, "body": "{}"}

    assert handler(make_event(tier="premium"))["statusCode"] == 200
    (emf,) = records(capsys.readouterr().out)
    assert dimensions(emf) == [["tier"]]
    assert emf["tier"] == "premium"
    assert emf["tenant_id"] == "texas"
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "tenantkit"
    units = {m["Name"]: m["Unit"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units == {
        "RCU": "Count",
        "WCU": "Count",
        "Requests": "Count",
        "Duration": "Milliseconds",
    }
    rcu, wcu, requests = reported.totals()
    assert (value(emf, "RCU"), value(emf, "WCU")) == (rcu, wcu)
    assert value(emf, "Requests") == requests
    assert value(emf, "Duration") > 0


def test_each_invocation_prints_its_own_record(
    client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    table = TenantTable(TABLE, client=client, metering=True)

    @tenant_handler
    def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
        for n in range(int(event["path"].rsplit("/", 1)[1])):
            table.get_item({"pk": f"park#{n}", "sk": "meta"})
        return {"statusCode": 200, "body": "{}"}

    for calls in (3, 1, 2):
        handler({**rest_event(tier="basic"), "path": f"/parks/{calls}"})
    assert [value(r, "Requests") for r in records(capsys.readouterr().out)] == [3.0, 1.0, 2.0]


def test_a_tenant_without_a_tier_is_unknown_not_a_new_dimension(
    client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    table = TenantTable(TABLE, client=client, metering=True)

    @tenant_handler
    def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
        table.get_item({"pk": "p", "sk": "s"})
        return {"statusCode": 200, "body": "{}"}

    handler(rest_event())
    handler(rest_event(tier=""))
    assert [(r["tier"], dimensions(r)) for r in records(capsys.readouterr().out)] == [
        ("unknown", [["tier"]]),
        ("unknown", [["tier"]]),
    ]


def test_an_answered_error_still_prints_what_was_consumed(
    client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    table = TenantTable(TABLE, client=client, metering=True)

    @tenant_handler
    def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
        table.put_item({"pk": "p", "sk": "s"})
        table.put_item({"pk": "p", "sk": "s"}, if_not_exists=True)
        return {"statusCode": 201, "body": "{}"}

    assert handler(rest_event(tier="basic"))["statusCode"] == 409
    (emf,) = records(capsys.readouterr().out)
    assert (value(emf, "Requests"), value(emf, "WCU")) == (2.0, 1.0)


def test_another_tenant_a_pinned_table_used_gets_its_own_record_without_duration(
    client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = TenantTable(TABLE, client=client, metering=True)
    theirs = TenantTable(TABLE, client=client, metering=True, tenant="utah")

    @tenant_handler
    def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
        mine.get_item({"pk": "p", "sk": "s"})
        theirs.put_item({"pk": "p", "sk": "s"})
        return {"statusCode": 200, "body": "{}"}

    handler(rest_event(tier="premium"))
    by_tenant = {r["tenant_id"]: r for r in records(capsys.readouterr().out)}
    assert set(by_tenant) == {"texas", "utah"}
    texas, utah = by_tenant["texas"], by_tenant["utah"]
    assert (texas["tier"], value(texas, "Requests"), value(texas, "WCU")) == ("premium", 1.0, 0.0)
    assert (utah["tier"], value(utah, "Requests"), value(utah, "RCU")) == ("unknown", 1.0, 0.0)
    assert value(texas, "Duration") > 0
    assert value(utah, "Duration") == 0


def test_the_namespace_follows_powertools_setting(
    client: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "parks")
    table = TenantTable(TABLE, client=client, metering=True)
    with tenant_scope(TenantContext("texas", "alice")), metered_invocation("texas", "basic"):
        table.get_item({"pk": "p", "sk": "s"})
    (emf,) = records(capsys.readouterr().out)
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "parks"


def test_powertools_switch_turns_the_records_off(
    client: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    table = TenantTable(TABLE, client=client, metering=True)
    with tenant_scope(TenantContext("texas", "alice")), metered_invocation("texas", "basic"):
        table.get_item({"pk": "p", "sk": "s"})
    assert capsys.readouterr().out == ""


def test_the_tier_never_reaches_the_apps_own_metrics(
    client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Decision 20: the record is written by its own EphemeralMetrics."""
    from aws_lambda_powertools import Metrics

    app_metrics = Metrics(namespace="parks", service="parks")
    table = TenantTable(TABLE, client=client, metering=True)

    @tenant_handler
    def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
        app_metrics.add_metric(name="ParkCreated", unit="Count", value=1)
        table.get_item({"pk": "p", "sk": "s"})
        return {"statusCode": 200, "body": "{}"}

    handler(rest_event(tier="premium"))
    app_metrics.flush_metrics()
    ours, apps = records(capsys.readouterr().out)
    assert {"tier", "tenant_id", "RCU"} <= set(ours)
    assert dimensions(apps) == [["service"]]
    assert {"tier", "tenant_id", "RCU"}.isdisjoint(apps)


def test_a_record_that_cannot_be_written_is_logged_and_the_answer_stands(
    client: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    table = TenantTable(TABLE, client=client, metering=True)

    def unwritable() -> Any:
        raise ConfigurationError("no EMF writer")

    monkeypatch.setattr(metering_module, "emf_metrics_class", unwritable)

    @tenant_handler
    def handler(event: dict[str, Any], context: object = None) -> dict[str, Any]:
        table.put_item({"pk": "p", "sk": "s"})
        return {"statusCode": 201, "body": "{}"}

    with caplog.at_level(logging.ERROR, logger="tenantkit.metering"):
        assert handler(rest_event(tier="basic"))["statusCode"] == 201
    assert "could not be written" in caplog.text


def test_a_generator_resumed_under_another_tenant_meters_the_tenant_it_reads(
    client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """``enumerate_keys`` reads its tenant once; the pages it fetches later are that
    tenant's usage, whoever is in scope when it resumes, and need no scope at all."""
    name = "tenantkit-metered-enumeration"
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"}
            for attribute in ("pk", "sk", "tkshard")
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "TenantItems",
                "KeySchema": [{"AttributeName": "tkshard", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    table = TenantTable(
        name, indexes={}, client=client, enumeration=Enumeration(shards=2), metering=True
    )
    alpha = TenantContext(tenant_id="alpha", user_id="u")
    with tenant_scope(alpha):
        table.batch_write([{"pk": f"k{n}", "sk": "s"} for n in range(8)])  # both shards
        under_bravo, unscoped = table.enumerate_keys(), table.enumerate_keys()
        expected = [next(under_bravo)], [next(unscoped)]
    with (
        tenant_scope(TenantContext(tenant_id="bravo", user_id="u")),
        metered_invocation("bravo", "gold"),
    ):
        expected[0].extend(under_bravo)
    expected[1].extend(unscoped)  # no scope, no meter: as an unmetered table does
    assert [sorted(keys["pk"] for keys in got) for got in expected] == [
        [f"k{n}" for n in range(8)]
    ] * 2
    by_tenant = {r["tenant_id"]: r for r in records(capsys.readouterr().out)}
    assert value(by_tenant["alpha"], "Requests") >= 1
    assert value(by_tenant["bravo"], "Requests") == 0
