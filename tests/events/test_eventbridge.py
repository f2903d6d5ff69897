"""put_events and eventbridge_handler: EventBridge events keep their signed tenant."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tenantkit import current_tenant, current_tenant_or_none, tenant_scope
from tenantkit.errors import (
    EnvelopeError,
    InvalidInputError,
    NoTenantContextError,
    TenantNotActiveError,
    UnprocessedItemsError,
)
from tenantkit.events import (
    EnvelopeLedger,
    EnvelopeSigner,
    EventEntry,
    SecretKey,
    eventbridge_handler,
    process_sqs_batch,
    put_events,
)
from tests.conftest import load_event
from tests.events.conftest import KEY, SECRET, TABLE, Aws, ctx

SIGNER = EnvelopeSigner(key=KEY, max_age=900)
OTHER_SIGNER = EnvelopeSigner(key=SecretKey("another-secret-of-at-least-32-bytes!!"))

seen: list[tuple[str, Any]] = []


@eventbridge_handler(signer=SIGNER)
def on_park_updated(event: dict[str, Any], context: Any = None) -> str:
    seen.append((current_tenant().tenant_id, event["detail"]))
    return str(event["detail-type"])


@pytest.fixture(autouse=True)
def _clear_seen() -> None:
    seen.clear()


def delivered(detail: object, **fields: Any) -> dict[str, Any]:
    """An EventBridge event as Lambda receives it, with ``detail`` parsed."""
    event = load_event("eventBridgeEvent.json")
    event.update({"source": "parks", "detail-type": "park-updated", "detail": detail, **fields})
    return event


def carried(signer: EnvelopeSigner, tenant: str, payload: object) -> dict[str, str]:
    with tenant_scope(ctx(tenant)):
        return {"tenantId": tenant, "envelope": signer.seal(payload, purpose="events")}


# --- attacks first ----------------------------------------------------------------------


def test_a_detail_signed_with_another_key_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    event = delivered(carried(OTHER_SIGNER, "texas", {"park": "big-bend"}), id="ev-1")
    with caplog.at_level(logging.WARNING, logger="tenantkit.events"), pytest.raises(EnvelopeError):
        on_park_updated(event, None)
    assert seen == []
    assert "ev-1" in caplog.text
    assert "signature" in caplog.text
    assert SECRET not in caplog.text
    assert event["detail"]["envelope"] not in caplog.text


def test_a_flipped_tenant_is_refused() -> None:
    detail = carried(SIGNER, "ohio", {"park": "hocking-hills"})
    envelope = json.loads(detail["envelope"])
    envelope["env"]["tenantId"] = "texas"
    forged = {"tenantId": "texas", "envelope": json.dumps(envelope)}
    with pytest.raises(EnvelopeError, match="signature"):
        on_park_updated(delivered(forged), None)
    relabelled = {**detail, "tenantId": "texas"}  # a rule routing on tenantId is lied to
    with pytest.raises(EnvelopeError, match="differs"):
        on_park_updated(delivered(relabelled), None)
    assert seen == []


@pytest.mark.parametrize(
    "detail",
    [
        {"tenantId": "texas", "park": "big-bend"},
        {"park": "big-bend"},
        "texas",
        None,
        {"tenantId": "texas", "envelope": {"v": 1}},
    ],
    ids=["tenant-only", "plain", "string", "none", "envelope-object"],
)
def test_unsigned_details_are_refused(detail: object) -> None:
    with pytest.raises(EnvelopeError):
        on_park_updated(delivered(detail), None)
    assert seen == []


def test_an_expired_detail_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    detail = carried(SIGNER, "texas", 1)
    import time

    later = time.time() + 901
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(EnvelopeError, match="older than max_age"):
        on_park_updated(delivered(detail), None)
    assert seen == []


def test_an_event_that_is_not_from_eventbridge_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="not an EventBridge event"):
        on_park_updated({"detail": carried(SIGNER, "texas", 1)}, None)
    with pytest.raises(EnvelopeError):
        on_park_updated(load_event("sqsEvent.json"), None)


def test_put_events_outside_a_tenant_scope_makes_no_call() -> None:
    client = boto3.client("events", region_name="us-east-1")
    # Stubbed with nothing queued: any call would fail.
    with Stubber(client), pytest.raises(NoTenantContextError):
        put_events(
            [{"Source": "parks", "DetailType": "x", "Detail": {}}], signer=SIGNER, client=client
        )


# --- the round trip through a rule ------------------------------------------------------


def test_put_events_to_a_rule_with_an_sqs_target(aws: Aws) -> None:
    events = boto3.client("events", region_name="us-east-1")
    queue = aws.sqs.create_queue(QueueName="park-events")["QueueUrl"]
    arn = aws.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    events.put_rule(
        Name="texas-parks",
        EventPattern=json.dumps({"source": ["parks"], "detail": {"tenantId": ["texas"]}}),
    )
    events.put_targets(
        Rule="texas-parks", Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}]
    )
    entry: EventEntry = {
        "Source": "parks",
        "DetailType": "park-updated",
        "Detail": {"visitors": 1.5},
    }
    with tenant_scope(ctx("texas")):
        ids = put_events(
            [entry, {**entry, "Detail": {"visitors": 2}}], signer=SIGNER, client=events
        )
    with tenant_scope(ctx("ohio")):
        put_events([entry], signer=SIGNER, client=events)  # the rule routes texas only
    assert len(ids) == 2
    messages = aws.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    deliveries = [json.loads(message["Body"]) for message in messages]
    assert sorted(event["id"] for event in deliveries) == sorted(ids)
    for event in deliveries:
        assert on_park_updated(event, SimpleNamespace()) == "park-updated"
    assert sorted(seen, key=str) == [("texas", {"visitors": 1.5}), ("texas", {"visitors": 2})]
    assert current_tenant_or_none() is None


def test_the_handler_gets_the_event_with_the_payload_as_detail() -> None:
    @eventbridge_handler(signer=SIGNER)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return event

    event = delivered(carried(SIGNER, "texas", {"park": "big-bend"}))
    got = handler(event, None)
    assert got == {**event, "detail": {"park": "big-bend"}}
    assert event["detail"]["tenantId"] == "texas"  # the delivered event is left as it was


def test_put_events_answers_nothing_left_out_in_order() -> None:
    """Over 10 entries go in several requests; retried throttled entries keep their seal."""
    client = boto3.client("events", region_name="us-east-1")
    sent: list[list[dict[str, Any]]] = []

    def record(params: dict[str, Any], **kwargs: Any) -> None:
        sent.append(params["Entries"])

    client.meta.events.register("provide-client-params.events.PutEvents", record)
    with Stubber(client) as stub:
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{i}"} for i in range(10)]},
        )
        stub.add_response(
            "put_events",
            {
                "FailedEntryCount": 1,
                "Entries": [
                    {"EventId": "e10"},
                    {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"},
                ],
            },
        )
        stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e11"}]})
        entries: list[EventEntry] = [
            {"Source": "parks", "DetailType": "n", "Detail": n} for n in range(12)
        ]
        with tenant_scope(ctx("texas")):
            ids = put_events(entries, signer=SIGNER, client=client, sleep=lambda _: None)
    assert ids == [f"e{i}" for i in range(12)]
    assert [len(request) for request in sent] == [10, 2, 1]
    assert sent[2][0] == sent[1][1]  # the same sealed envelope, not a new one
    assert [
        SIGNER.open(json.loads(e["Detail"])["envelope"], purpose="events")[1] for e in sent[1]
    ] == [10, 11]


def test_put_events_partial_failure_names_the_failed_entries() -> None:
    client = boto3.client("events", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "put_events",
            {
                "FailedEntryCount": 2,
                "Entries": [
                    {"EventId": "e0"},
                    {"ErrorCode": "MalformedDetail", "ErrorMessage": "bad"},
                    {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"},
                ],
            },
        )
        stub.add_response(
            "put_events",
            {
                "FailedEntryCount": 1,
                "Entries": [
                    {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"},
                ],
            },
        )
        entries: list[EventEntry] = [
            {"Source": "parks", "DetailType": "n", "Detail": n} for n in range(3)
        ]
        with tenant_scope(ctx("texas")), pytest.raises(UnprocessedItemsError) as info:
            put_events(entries, signer=SIGNER, client=client, attempts=2, sleep=lambda _: None)
        stub.assert_no_pending_responses()
    error = info.value
    assert "#1 (MalformedDetail)" in str(error)
    assert "#2 (ThrottlingException)" in str(error)
    assert error.processed == ["e0", None, None]
    assert [(u["index"], u["errorCode"]) for u in error.unprocessed] == [  # type: ignore[index]
        (1, "MalformedDetail"),
        (2, "ThrottlingException"),
    ]
    assert error.unprocessed[0]["entry"] is entries[1]  # type: ignore[index]


@pytest.mark.parametrize(
    "entry",
    [
        {"Source": "parks", "DetailType": "x"},
        {"Source": "p", "DetailType": "x", "Detail": 1, "X": 1},
    ],
    ids=["no-detail", "unknown-field"],
)
def test_malformed_entries_are_refused_before_any_call(entry: dict[str, Any]) -> None:
    client = boto3.client("events", region_name="us-east-1")
    with Stubber(client), tenant_scope(ctx("texas")), pytest.raises(InvalidInputError):
        put_events([entry], signer=SIGNER, client=client)  # type: ignore[list-item]


# --- tenant status ----------------------------------------------------------------------


def test_a_tenant_that_is_not_active_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    refused: list[str] = []

    def require_active(tenant_id: str) -> None:
        refused.append(tenant_id)
        if tenant_id == "ohio":
            raise TenantNotActiveError("suspended")

    @eventbridge_handler(signer=SIGNER, require_active=require_active)
    def handler(event: dict[str, Any], context: Any) -> str:
        return current_tenant().tenant_id

    with caplog.at_level(logging.WARNING, logger="tenantkit.events"):
        assert handler(delivered(carried(SIGNER, "ohio", 1), id="ev-o"), None) is None
        assert handler(delivered(carried(SIGNER, "texas", 1)), None) == "texas"
    assert refused == ["ohio", "texas"]
    assert "dropped EventBridge event ev-o: tenant ohio is not active" in caplog.text


def test_a_failing_status_check_propagates_so_lambda_retries() -> None:
    def unreachable(tenant_id: str) -> None:
        raise ConnectionError("status table unreachable")

    @eventbridge_handler(signer=SIGNER, require_active=unreachable)
    def handler(event: dict[str, Any], context: Any) -> str:
        raise AssertionError("must not run")

    with pytest.raises(ConnectionError):
        handler(delivered(carried(SIGNER, "texas", 1)), None)


def test_the_consumers_do_not_import_boto3() -> None:
    """Cold start: an EventBridge, task or isolated-function handler loads no boto3."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from tenantkit.events import eventbridge_handler, step_functions_task, TenantFunction\n"
        "from tenantkit import tenant_handler\n"
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_a_rule_to_a_queue_is_consumed_by_process_sqs_batch_once(aws: Aws) -> None:
    """EventBridge delivers at least once too: behind a queue, the ledger runs it once."""
    events = boto3.client("events", region_name="us-east-1")
    queue = aws.sqs.create_queue(QueueName="park-events")["QueueUrl"]
    arn = aws.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    events.put_rule(Name="parks", EventPattern=json.dumps({"source": ["parks"]}))
    events.put_targets(Rule="parks", Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}])
    entry: EventEntry = {
        "Source": "parks",
        "DetailType": "park-closed",
        "Detail": {"park": "alamo"},
    }
    with tenant_scope(ctx("texas")):
        put_events([entry], signer=SIGNER, client=events)
    [message] = aws.sqs.receive_message(QueueUrl=queue)["Messages"]
    relabelled = json.loads(message["Body"])
    relabelled["detail"]["tenantId"] = "ohio"
    ledger = EnvelopeLedger(TABLE, consumer="closures", client=aws.dynamodb)
    batch = {
        "Records": [
            {"messageId": "m1", "body": message["Body"]},
            {"messageId": "m1-again", "body": message["Body"]},
            {"messageId": "relabelled", "body": json.dumps(relabelled)},
        ]
    }
    runs: list[tuple[str, object]] = []

    def handler(payload: object) -> None:
        runs.append((current_tenant().tenant_id, payload))

    result = process_sqs_batch(batch, handler, signer=SIGNER, once=ledger)
    assert result == {"batchItemFailures": [{"itemIdentifier": "relabelled"}]}
    assert runs == [("texas", {"park": "alamo"})]
