"""At most one successful processing per envelope: ``process_sqs_batch(..., once=ledger)``.

SQS delivers at least once (the same message can reach two consumers), and anyone who
can send to the queue can replay an envelope within ``max_age``. The ledger claims each
envelope id with a conditional write before the handler runs.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tenantkit.context import current_tenant, tenant_scope
from tenantkit.errors import ConfigurationError
from tenantkit.events import EnvelopeLedger, EnvelopeSigner, process_sqs_batch
from tests.events.conftest import KEY, TABLE, Aws, ctx
from tests.events.test_queues import seal, sqs_record

SIGNER = EnvelopeSigner(key=KEY, max_age=900)
FIFO = "arn:aws:sqs:us-east-1:123456789012:work.fifo"


class Clock:
    """Seconds since the epoch, moved by hand: leases expire without waiting."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self, fail: int = 0) -> None:
        self.seen: list[tuple[str, object]] = []
        self.fail = fail  # how many calls raise before the handler succeeds

    def __call__(self, payload: object) -> None:
        self.seen.append((current_tenant().tenant_id, payload))
        if self.fail:
            self.fail -= 1
            raise RuntimeError("handler failed")


@pytest.fixture
def ledger(aws: Aws) -> EnvelopeLedger:
    return EnvelopeLedger(TABLE, consumer="announcer", client=aws.dynamodb)


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def failures(result: dict[str, list[dict[str, str]]]) -> list[str]:
    return [failure["itemIdentifier"] for failure in result["batchItemFailures"]]


def markers(aws: Aws) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws.dynamodb.scan(TableName=TABLE)["Items"]
    return [item for item in items if item["pk"]["S"].startswith("_once#")]


def test_attack_replayed_envelope_runs_the_handler_once(ledger: EnvelopeLedger) -> None:
    body = seal("texas", {"park": "big-bend"})
    handler = Recorder()
    # The same SQS message twice in one batch, a replay under another message id, and a
    # replay in a later batch: the handler runs once, every duplicate is acknowledged.
    first = process_sqs_batch(
        batch(sqs_record(body, "m1"), sqs_record(body, "m1"), sqs_record(body, "replay-1")),
        handler,
        signer=SIGNER,
        once=ledger,
    )
    later = process_sqs_batch(
        batch(sqs_record(body, "replay-2")), handler, signer=SIGNER, once=ledger
    )
    assert (failures(first), failures(later)) == ([], [])
    assert handler.seen == [("texas", {"park": "big-bend"})]


def test_without_a_ledger_a_replay_runs_again() -> None:
    """The default stays at-least-once: the option is what makes a replay harmless."""
    body = seal("texas", 1)
    handler = Recorder()
    process_sqs_batch(batch(sqs_record(body, "a"), sqs_record(body, "b")), handler, signer=SIGNER)
    assert len(handler.seen) == 2


def test_different_envelopes_with_equal_payloads_both_run(ledger: EnvelopeLedger) -> None:
    handler = Recorder()
    event = batch(sqs_record(seal("texas", "close"), "1"), sqs_record(seal("texas", "close"), "2"))
    assert failures(process_sqs_batch(event, handler, signer=SIGNER, once=ledger)) == []
    assert handler.seen == [("texas", "close"), ("texas", "close")]


def test_duplicates_are_logged_without_running(
    ledger: EnvelopeLedger, caplog: pytest.LogCaptureFixture
) -> None:
    body = seal("texas", 1)
    with caplog.at_level(logging.INFO, logger="tenantkit.events"):
        process_sqs_batch(
            batch(sqs_record(body, "a"), sqs_record(body, "b")),
            Recorder(),
            signer=SIGNER,
            once=ledger,
        )
    [line] = [r for r in caplog.records if "already processed" in r.getMessage()]
    assert "b" in line.getMessage()


def test_handler_failure_releases_the_envelope_for_the_retry(ledger: EnvelopeLedger) -> None:
    body = seal("ohio", {"job": 1})
    handler = Recorder(fail=1)
    record = sqs_record(body, "m1")
    first = process_sqs_batch(batch(record), handler, signer=SIGNER, once=ledger)
    assert failures(first) == ["m1"]
    # SQS's retry of the same message runs it again, and succeeds.
    retry = process_sqs_batch(batch(record), handler, signer=SIGNER, once=ledger)
    assert failures(retry) == []
    assert handler.seen == [("ohio", {"job": 1}), ("ohio", {"job": 1})]
    # After one success, no delivery runs it again.
    again = process_sqs_batch(batch(record), handler, signer=SIGNER, once=ledger)
    assert failures(again) == []
    assert len(handler.seen) == 2


def test_concurrent_delivery_on_two_consumers_runs_once(aws: Aws) -> None:
    """Consumer A is inside the handler when B receives the same message: B neither runs
    it nor acknowledges it (A may still fail). B's retry, after A finished, is acked."""
    body = seal("texas", {"n": 1})
    a_inside, b_done = threading.Event(), threading.Event()
    handled: list[str] = []

    def handler_a(payload: object) -> None:
        handled.append("a")
        a_inside.set()
        assert b_done.wait(timeout=60)

    def handler_b(payload: object) -> None:
        handled.append("b")

    consumer_a = EnvelopeLedger(TABLE, consumer="announcer", client=aws.dynamodb)
    consumer_b = EnvelopeLedger(TABLE, consumer="announcer", client=aws.dynamodb)
    results: dict[str, Any] = {}

    def run_a() -> None:
        event = batch(sqs_record(body, "m1"))
        results["a"] = process_sqs_batch(event, handler_a, signer=SIGNER, once=consumer_a)

    thread = threading.Thread(target=run_a)
    thread.start()
    try:
        assert a_inside.wait(timeout=60)
        results["b"] = process_sqs_batch(
            batch(sqs_record(body, "m1")), handler_b, signer=SIGNER, once=consumer_b
        )
    finally:
        b_done.set()
        thread.join(timeout=60)
    assert failures(results["b"]) == ["m1"]  # in progress elsewhere: SQS delivers it again
    assert failures(results["a"]) == []
    retry = process_sqs_batch(
        batch(sqs_record(body, "m1")), handler_b, signer=SIGNER, once=consumer_b
    )
    assert failures(retry) == []
    assert handled == ["a"]


def test_many_consumers_racing_run_the_handler_once(aws: Aws) -> None:
    body = seal("texas", {"n": 1})
    start = threading.Barrier(8)
    handled: list[int] = []
    lock = threading.Lock()
    results: list[list[str]] = []

    def consumer(number: int) -> None:
        ledger = EnvelopeLedger(TABLE, consumer="announcer", client=aws.dynamodb)

        def handler(payload: object) -> None:
            with lock:
                handled.append(number)

        start.wait(timeout=60)
        result = process_sqs_batch(
            batch(sqs_record(body, f"m{number}")), handler, signer=SIGNER, once=ledger
        )
        with lock:
            results.append(failures(result))

    threads = [threading.Thread(target=consumer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(handled) == 1
    assert len(results) == 8


def test_a_crashed_claim_is_retried_after_its_lease(aws: Aws) -> None:
    clock = Clock(1_900_000_000.0)
    crashed = EnvelopeLedger(
        TABLE, consumer="announcer", client=aws.dynamodb, lease=30, clock=clock
    )
    body = seal("texas", 1)
    message_id = json.loads(body)["env"]["messageId"]
    claim = crashed.claim(message_id, keep_until=clock.now + 900)
    assert claim.claimed  # ...and the consumer dies before completing or releasing it

    ledger = EnvelopeLedger(TABLE, consumer="announcer", client=aws.dynamodb, lease=30, clock=clock)
    handler = Recorder()
    signer = EnvelopeSigner(key=KEY, max_age=10**10)  # the fake clock is not the signer's
    within = process_sqs_batch(batch(sqs_record(body, "m1")), handler, signer=signer, once=ledger)
    assert failures(within) == ["m1"]  # still leased to the crashed consumer
    assert handler.seen == []

    clock.now += 31
    after = process_sqs_batch(batch(sqs_record(body, "m1")), handler, signer=signer, once=ledger)
    assert failures(after) == []
    assert handler.seen == [("texas", 1)]


def test_a_stale_holder_cannot_release_a_retaken_claim(aws: Aws) -> None:
    clock = Clock(1_900_000_000.0)
    ledger = EnvelopeLedger(TABLE, consumer="announcer", client=aws.dynamodb, lease=30, clock=clock)
    stale = ledger.claim("abc123", keep_until=clock.now + 900)
    clock.now += 31
    fresh = ledger.claim("abc123", keep_until=clock.now + 900)
    assert stale.claimed
    assert fresh.claimed
    ledger.release(stale)  # the first holder fails late: the second keeps its claim
    assert ledger.claim("abc123", keep_until=clock.now + 900).busy
    ledger.complete(fresh)
    clock.now += 10_000
    assert ledger.claim("abc123", keep_until=clock.now + 900).done


def test_hostile_records_still_fail_alone_and_leave_no_markers(
    aws: Aws, ledger: EnvelopeLedger
) -> None:
    tampered = json.loads(seal("texas", 2))
    tampered["env"]["tenantId"] = "california"
    good = seal("ohio", 3)
    event = batch(
        sqs_record(seal("texas", 1), "a"),
        sqs_record(json.dumps(tampered), "tampered"),
        sqs_record("[" * 100_000, "deep"),
        sqs_record(good, "b"),
        sqs_record(good, "b-again"),
    )
    handler = Recorder()
    result = process_sqs_batch(event, handler, signer=SIGNER, once=ledger)
    assert failures(result) == ["tampered", "deep"]
    assert handler.seen == [("texas", 1), ("ohio", 3)]
    assert len(markers(aws)) == 2


def test_markers_hold_no_tenant_data_live_in_the_reserved_namespace_and_expire(
    aws: Aws, ledger: EnvelopeLedger
) -> None:
    body = seal("texas", {"secret": "payload"})
    envelope = json.loads(body)["env"]
    process_sqs_batch(batch(sqs_record(body, "m1")), Recorder(), signer=SIGNER, once=ledger)
    [item] = markers(aws)
    assert item["pk"]["S"] == f"_once#announcer#{envelope['messageId']}"
    assert "texas" not in json.dumps(item)
    assert "payload" not in json.dumps(item)
    assert item["state"]["S"] == "done"
    # Kept as long as the signer accepts the envelope (issuedAt + max_age, plus a margin
    # for clock skew); a later replay is refused for its age anyway.
    expires = int(item["expiresAt"]["N"])
    issued = envelope["issuedAt"] // 1000
    assert issued + SIGNER.max_age <= expires <= issued + SIGNER.max_age + 3600


def test_each_consumer_name_processes_an_envelope_once(aws: Aws) -> None:
    body = seal("texas", 1)
    audit = EnvelopeLedger(TABLE, consumer="audit", client=aws.dynamodb)
    announcer = EnvelopeLedger(TABLE, consumer="announcer", client=aws.dynamodb)
    handler = Recorder()
    for ledger in (audit, announcer, audit, announcer):
        process_sqs_batch(batch(sqs_record(body, "m")), handler, signer=SIGNER, once=ledger)
    assert len(handler.seen) == 2


def test_a_fifo_duplicate_does_not_hold_up_its_group(ledger: EnvelopeLedger) -> None:
    def record(body: str, message_id: str) -> dict[str, Any]:
        rec = sqs_record(body, message_id, eventSourceARN=FIFO)
        rec["attributes"] = dict(rec["attributes"], MessageGroupId="texas")
        return rec

    first, second = seal("texas", 1), seal("texas", 2)
    event = batch(record(first, "t1"), record(first, "t1-dup"), record(second, "t2"))
    handler = Recorder()
    assert failures(process_sqs_batch(event, handler, signer=SIGNER, once=ledger)) == []
    assert handler.seen == [("texas", 1), ("texas", 2)]


def test_a_ledger_outage_fails_the_record_without_running_the_handler(
    aws: Aws, caplog: pytest.LogCaptureFixture
) -> None:
    missing = EnvelopeLedger("no-such-table", consumer="announcer", client=aws.dynamodb)
    handler = Recorder()
    with caplog.at_level(logging.ERROR, logger="tenantkit.events"):
        result = process_sqs_batch(
            batch(sqs_record(seal("texas", 1), "m1")), handler, signer=SIGNER, once=missing
        )
    assert failures(result) == ["m1"]
    assert handler.seen == []
    assert "ResourceNotFoundException" in caplog.text


class FailingWrites:
    """A DynamoDB client whose writes after the first ``allowed`` ones raise."""

    def __init__(self, client: Any, allowed: int) -> None:
        self.client = client
        self.allowed = allowed

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if name not in {"put_item", "delete_item"}:
            return method

        def write(**kwargs: Any) -> Any:
            if self.allowed <= 0:
                raise RuntimeError("DynamoDB is unreachable")
            self.allowed -= 1
            return method(**kwargs)

        return write


def test_a_failed_completion_still_acknowledges_the_work_done(
    aws: Aws, caplog: pytest.LogCaptureFixture
) -> None:
    flaky = EnvelopeLedger(TABLE, consumer="announcer", client=FailingWrites(aws.dynamodb, 1))
    handler = Recorder()
    with caplog.at_level(logging.ERROR, logger="tenantkit.events"):
        result = process_sqs_batch(
            batch(sqs_record(seal("texas", 1), "m1")), handler, signer=SIGNER, once=flaky
        )
    assert failures(result) == []  # the handler succeeded: a retry would run it twice
    assert len(handler.seen) == 1
    assert "could not be recorded as done" in caplog.text


def test_a_failed_release_still_reports_the_failure(
    aws: Aws, caplog: pytest.LogCaptureFixture
) -> None:
    flaky = EnvelopeLedger(TABLE, consumer="announcer", client=FailingWrites(aws.dynamodb, 1))
    handler = Recorder(fail=1)
    with caplog.at_level(logging.ERROR, logger="tenantkit.events"):
        result = process_sqs_batch(
            batch(sqs_record(seal("texas", 1), "m1")), handler, signer=SIGNER, once=flaky
        )
    assert failures(result) == ["m1"]
    assert "could not be released" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"consumer": ""}, "consumer"),
        ({"consumer": "has space"}, "consumer"),
        ({"consumer": "x" * 65}, "consumer"),
        ({"consumer": "ok", "lease": 0}, "lease"),
        ({"consumer": "ok", "partition_key": "pk", "sort_key": "pk"}, "key"),
        ({"consumer": "ok", "ttl_attribute": "pk"}, "ttl"),
    ],
)
def test_configuration_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        EnvelopeLedger(TABLE, **kwargs)


def test_no_aws_client_is_built_until_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    def no_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("a client was built at construction")

    monkeypatch.setattr(boto3, "client", no_client)
    EnvelopeLedger(TABLE, consumer="announcer")


@pytest.fixture
def scoped() -> Iterator[None]:
    with tenant_scope(ctx("texas")):
        yield


def test_the_callers_scope_is_kept(ledger: EnvelopeLedger, scoped: None) -> None:
    body = seal("ohio", 1)
    handler = Recorder()
    process_sqs_batch(batch(sqs_record(body, "1")), handler, signer=SIGNER, once=ledger)
    assert current_tenant().tenant_id == "texas"
    assert handler.seen == [("ohio", 1)]


def test_importing_the_ledger_does_not_load_boto3() -> None:
    probe = (
        "import sys\n"
        "from tenantkit.events import EnvelopeLedger, process_sqs_batch\n"
        "print('boto3' in sys.modules, 'tenantkit.dynamo' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]


def test_a_ledger_built_from_a_boto3_session(aws: Aws) -> None:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(region_name="us-east-1")
    built = EnvelopeLedger(
        TABLE, consumer="announcer", boto3_session=session, boto_config=Config(retries={})
    )
    assert built.claim("abc123", keep_until=4_102_444_800).claimed
    assert built.claim("abc123", keep_until=4_102_444_800).busy
    with pytest.raises(ConfigurationError, match="not both"):
        EnvelopeLedger(TABLE, consumer="announcer", client=aws.dynamodb, boto3_session=session)
