"""send_message and process_sqs_batch: each queued record runs under its own tenant."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tenantkit.context import current_tenant, current_tenant_or_none, tenant_scope
from tenantkit.errors import ConfigurationError, EnvelopeError, TenantNotActiveError
from tenantkit.events import EnvelopeSigner, SecretsManagerKey, process_sqs_batch, send_message
from tests.conftest import load_event
from tests.events.conftest import KEY, TABLE, Aws, ctx

SIGNER = EnvelopeSigner(key=KEY)


def sqs_record(body: str, message_id: str, **extra: Any) -> dict[str, Any]:
    record = dict(load_event("sqsEvent.json")["Records"][0])
    record.update(body=body, messageId=message_id, messageAttributes={}, **extra)
    return record


def seal(tenant: str, payload: object, purpose: str = "sqs") -> str:
    with tenant_scope(ctx(tenant)):
        return SIGNER.seal(payload, purpose=purpose)


class Recorder:
    def __init__(self, fail_on: object = None) -> None:
        self.seen: list[tuple[str, object]] = []
        self.fail_on = fail_on

    def __call__(self, payload: object) -> None:
        self.seen.append((current_tenant().tenant_id, payload))
        if payload == self.fail_on:
            raise RuntimeError("handler failed")


def test_batch_of_good_tampered_good(caplog: pytest.LogCaptureFixture) -> None:
    tampered = json.loads(seal("texas", {"n": 2}))
    tampered["env"]["tenantId"] = "california"
    event = {
        "Records": [
            sqs_record(seal("texas", {"n": 1}), "a"),
            sqs_record(json.dumps(tampered), "tampered"),
            sqs_record(seal("california", {"n": 3}), "b"),
        ]
    }
    handler = Recorder()
    with caplog.at_level(logging.WARNING, logger="tenantkit.events"):
        result = process_sqs_batch(event, handler, signer=SIGNER)
    assert result == {"batchItemFailures": [{"itemIdentifier": "tampered"}]}
    assert handler.seen == [("texas", {"n": 1}), ("california", {"n": 3})]
    assert current_tenant_or_none() is None
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1
    assert "tampered" in refusals[0].getMessage()
    assert "signature" in refusals[0].getMessage()


def _non_ascii_signature() -> str:
    envelope = json.loads(seal("texas", {"n": 2}))
    envelope["sig"] = "\u00e9" * 43
    return json.dumps(envelope)


@pytest.mark.parametrize(
    "hostile",
    [
        _non_ascii_signature(),
        "[" * 100_000,  # nesting deep enough to exhaust the parser's recursion
        json.dumps({"Type": "Notification", "Message": "{" * 100_000}),
    ],
    ids=["non-ascii-signature", "deep-json", "deep-json-in-sns"],
)
def test_one_hostile_record_fails_alone(hostile: str) -> None:
    event = {
        "Records": [
            sqs_record(seal("texas", {"n": 1}), "a"),
            sqs_record(hostile, "hostile"),
            sqs_record(seal("ohio", {"n": 3}), "b"),
        ]
    }
    handler = Recorder()
    result = process_sqs_batch(event, handler, signer=SIGNER)
    assert result == {"batchItemFailures": [{"itemIdentifier": "hostile"}]}
    assert handler.seen == [("texas", {"n": 1}), ("ohio", {"n": 3})]


def test_a_misconfigured_key_is_logged_with_what_to_fix(caplog: pytest.LogCaptureFixture) -> None:
    class NoJsonKey:
        def get_secret_value(self, SecretId: str) -> dict[str, Any]:
            return {"SecretString": json.dumps({"other": "x" * 40})}

    signer = EnvelopeSigner(
        key=SecretsManagerKey("env", json_key="signature", client=NoJsonKey())  # type: ignore[arg-type]
    )
    event = {"Records": [sqs_record(seal("texas", {"n": 1}), "m1")]}
    with caplog.at_level(logging.WARNING, logger="tenantkit.events"):
        result = process_sqs_batch(event, Recorder(), signer=signer)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert "signature" in caplog.text  # the reason, naming the missing key


def test_handler_failures_are_reported_and_context_is_reset() -> None:
    event = {
        "Records": [
            sqs_record(seal("texas", "boom"), "1"),
            sqs_record(seal("ohio", "ok"), "2"),
        ]
    }
    handler = Recorder(fail_on="boom")
    assert process_sqs_batch(event, handler, signer=SIGNER) == {
        "batchItemFailures": [{"itemIdentifier": "1"}]
    }
    assert handler.seen == [("texas", "boom"), ("ohio", "ok")]
    assert current_tenant_or_none() is None


def test_the_caller_scope_does_not_leak_into_records() -> None:
    event = {"Records": [sqs_record(seal("ohio", 1), "1")]}
    handler = Recorder()
    with tenant_scope(ctx("texas")):
        process_sqs_batch(event, handler, signer=SIGNER)
        assert current_tenant().tenant_id == "texas"
    assert handler.seen == [("ohio", 1)]


def test_refused_bodies_never_reach_the_handler() -> None:
    event = {
        "Records": [
            sqs_record("plain text", "1"),
            sqs_record(json.dumps({"tenantId": "texas", "payload": 1}), "2"),
            sqs_record(load_event("sqsEvent.json")["Records"][0]["body"], "3"),
        ]
    }
    handler = Recorder()
    result = process_sqs_batch(event, handler, signer=SIGNER)
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == ["1", "2", "3"]
    assert handler.seen == []


def test_sns_notifications_raw_and_wrapped() -> None:
    wrapper = json.loads(load_event("snsSqsEvent.json")["Records"][0]["body"])
    wrapper["Message"] = seal("texas", {"via": "wrapped"})
    forged_wrapper = dict(wrapper, Message=json.dumps({"v": 1, "env": {}, "sig": ""}))
    event = {
        "Records": [
            sqs_record(json.dumps(wrapper), "wrapped"),
            sqs_record(seal("ohio", {"via": "raw"}), "raw"),
            sqs_record(json.dumps(forged_wrapper), "forged"),
            sqs_record(load_event("snsSqsEvent.json")["Records"][0]["body"], "plain-sns"),
        ]
    }
    handler = Recorder()
    result = process_sqs_batch(event, handler, signer=SIGNER)
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == ["forged", "plain-sns"]
    assert handler.seen == [("texas", {"via": "wrapped"}), ("ohio", {"via": "raw"})]


def test_tenant_attribute_must_agree_with_the_envelope() -> None:
    attribute = {"tenant_id": {"stringValue": "california", "dataType": "String"}}
    record = sqs_record(seal("texas", 1), "1")
    record["messageAttributes"] = attribute
    handler = Recorder()
    result = process_sqs_batch({"Records": [record]}, handler, signer=SIGNER)
    assert result == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert handler.seen == []


def test_fifo_skips_the_rest_of_a_failed_group_only() -> None:
    fifo = "arn:aws:sqs:us-east-1:123456789012:work.fifo"

    def record(tenant: str, payload: object, message_id: str) -> dict[str, Any]:
        rec = sqs_record(seal(tenant, payload), message_id, eventSourceARN=fifo)
        rec["attributes"] = dict(rec["attributes"], MessageGroupId=tenant)
        return rec

    event = {
        "Records": [
            record("texas", "boom", "t1"),
            record("ohio", "o1", "o1"),
            record("texas", "t2", "t2"),
            record("ohio", "o2", "o2"),
        ]
    }
    handler = Recorder(fail_on="boom")
    result = process_sqs_batch(event, handler, signer=SIGNER)
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == ["t1", "t2"]
    assert handler.seen == [("texas", "boom"), ("ohio", "o1"), ("ohio", "o2")]


def test_not_an_sqs_event() -> None:
    with pytest.raises(EnvelopeError):
        process_sqs_batch({"detail": {}}, Recorder(), signer=SIGNER)
    with pytest.raises(EnvelopeError):
        process_sqs_batch({"Records": [{"body": "x"}]}, Recorder(), signer=SIGNER)


def test_send_message_to_a_standard_queue(aws: Aws) -> None:
    url = aws.sqs.create_queue(QueueName="work")["QueueUrl"]
    with tenant_scope(ctx("texas")):
        message_id = send_message(url, {"job": 1}, signer=SIGNER, client=aws.sqs)
    received = aws.sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert received[0]["MessageId"] == message_id
    assert received[0]["MessageAttributes"]["tenant_id"]["StringValue"] == "texas"
    context, payload = SIGNER.open(received[0]["Body"], purpose="sqs")
    assert (context.tenant_id, payload) == ("texas", {"job": 1})


def test_send_message_takes_a_session_and_config_like_every_client_taker(aws: Aws) -> None:
    import boto3
    from botocore.config import Config

    url = aws.sqs.create_queue(QueueName="work")["QueueUrl"]
    session = boto3.session.Session(region_name="us-east-1")
    with tenant_scope(ctx("texas")):
        message_id = send_message(
            url, {"job": 2}, signer=SIGNER, boto3_session=session, boto_config=Config()
        )
        with pytest.raises(ConfigurationError, match="not both"):
            send_message(url, {"job": 3}, signer=SIGNER, client=aws.sqs, boto3_session=session)
        with pytest.raises(TypeError):
            send_message(aws.sqs, url, {"job": 4}, signer=SIGNER)  # type: ignore[call-arg]
    received = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["MessageId"] for m in received] == [message_id]


def test_send_message_to_a_fifo_queue_groups_by_tenant(aws: Aws) -> None:
    url = aws.sqs.create_queue(QueueName="work.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for tenant in ("texas", "ohio", "texas"):
        with tenant_scope(ctx(tenant)):
            send_message(url, {"tenant": tenant}, signer=SIGNER, client=aws.sqs)
    received = aws.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["MessageGroupId"]
    )["Messages"]
    groups = sorted(m["Attributes"]["MessageGroupId"] for m in received)
    assert groups == ["ohio", "texas", "texas"]
    # Round trip through the consumer, as Lambda would deliver them.
    event = {
        "Records": [
            sqs_record(m["Body"], m["MessageId"], attributes=m["Attributes"]) for m in received
        ]
    }
    handler = Recorder()
    assert process_sqs_batch(event, handler, signer=SIGNER) == {"batchItemFailures": []}
    assert sorted(handler.seen) == [
        ("ohio", {"tenant": "ohio"}),
        ("texas", {"tenant": "texas"}),
        ("texas", {"tenant": "texas"}),
    ]


def test_a_tenant_that_is_not_active_is_dropped_not_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Acknowledged without running: a retry would carry the tenant's data to the DLQ."""
    checked: list[str] = []

    def require_active(tenant_id: str) -> None:
        checked.append(tenant_id)
        if tenant_id == "ohio":
            raise TenantNotActiveError("ohio is suspended")

    event = {
        "Records": [
            sqs_record(seal("ohio", {"secret": "ohio-data"}), "o1"),
            sqs_record(seal("texas", 1), "t1"),
        ]
    }
    handler = Recorder()
    with caplog.at_level(logging.WARNING, logger="tenantkit.events"):
        result = process_sqs_batch(event, handler, signer=SIGNER, require_active=require_active)
    assert result == {"batchItemFailures": []}
    assert handler.seen == [("texas", 1)]
    assert checked == ["ohio", "texas"]
    assert "dropped SQS message o1: tenant ohio is not active" in caplog.text
    assert "ohio-data" not in caplog.text


def test_a_failing_status_check_fails_the_record_so_sqs_retries() -> None:
    def unreachable(tenant_id: str) -> None:
        raise ConnectionError("status table unreachable")

    event = {"Records": [sqs_record(seal("texas", 1), "t1")]}
    handler = Recorder()
    result = process_sqs_batch(event, handler, signer=SIGNER, require_active=unreachable)
    assert result == {"batchItemFailures": [{"itemIdentifier": "t1"}]}
    assert handler.seen == []


def test_the_status_check_never_sees_a_forged_tenant() -> None:
    """Refused envelopes fail before the check, so it is asked only about signed tenants."""
    forged = json.loads(seal("texas", 1))
    forged["env"]["tenantId"] = "ohio"
    checked: list[str] = []
    event = {"Records": [sqs_record(json.dumps(forged), "f1")]}
    result = process_sqs_batch(event, Recorder(), signer=SIGNER, require_active=checked.append)
    assert result == {"batchItemFailures": [{"itemIdentifier": "f1"}]}
    assert checked == []


def test_the_status_cache_gates_a_batch_before_the_ledger(aws: Aws) -> None:
    """Contract 3 end to end: TenantStatusCache.require_active over the tenant records."""
    from tenantkit._shared.dynamodb.tenant_status import TenantStatusCache
    from tenantkit.events import EnvelopeLedger

    for tenant, status in (("texas", "active"), ("ohio", "suspended")):
        aws.dynamodb.put_item(
            TableName=TABLE,
            Item={
                "pk": {"S": f"_tenant#{tenant}"},
                "sk": {"S": "_tenant"},
                "status": {"S": status},
            },
        )
    statuses = TenantStatusCache(TABLE, client=aws.dynamodb)
    ledger = EnvelopeLedger(TABLE, consumer="gated", client=aws.dynamodb)
    event = {
        "Records": [
            sqs_record(seal("ohio", 1), "o1"),
            sqs_record(seal("texas", 2), "t1"),
            sqs_record(seal("utah", 3), "u1"),  # no tenant record: not active either
        ]
    }
    handler = Recorder()
    result = process_sqs_batch(
        event, handler, signer=SIGNER, once=ledger, require_active=statuses.require_active
    )
    assert result == {"batchItemFailures": []}
    assert handler.seen == [("texas", 2)]
    markers = aws.dynamodb.scan(TableName=TABLE)["Items"]
    assert sum(item["pk"]["S"].startswith("_once#gated#") for item in markers) == 1


def test_attack_envelopes_sealed_for_another_channel_are_refused() -> None:
    """A detail sealed for EventBridge sent as a bare body, a queue envelope dressed as
    an EventBridge event, and a function's Invoke payload: none is a queue message."""
    as_event = {
        "source": "parks",
        "detail-type": "park-closed",
        "detail": {"tenantId": "texas", "envelope": seal("texas", 2, "sqs")},
    }
    event = {
        "Records": [
            sqs_record(seal("texas", 1, "events"), "detail-as-body"),
            sqs_record(json.dumps(as_event), "queue-envelope-as-event"),
            sqs_record(seal("texas", 3, "invoke:reports"), "invoke"),
            sqs_record(seal("texas", 4), "genuine"),
        ]
    }
    handler = Recorder()
    result = process_sqs_batch(event, handler, signer=SIGNER)
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [
        "detail-as-body",
        "queue-envelope-as-event",
        "invoke",
    ]
    assert handler.seen == [("texas", 4)]
