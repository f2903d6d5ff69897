"""SQS pollers: partial batch responses, and a crashed worker's batch retried and redriven."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tenantkit.local.functions import Runtime
from tenantkit.local.queues import QueuePoller, failed_message_ids
from tests.local.runtime.isolation import isolation_stack

IDS = ["m1", "m2", "m3"]


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "m9"}]}, set(IDS)),  # unknown id
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, set(IDS)),
        ({"batchItemFailures": [{"id": "m1"}]}, set(IDS)),
        ({"batchItemFailures": "m1"}, set(IDS)),
        ("garbage", set(IDS)),
    ],
)
def test_partial_batch_responses(result: Any, failed: set[str]) -> None:
    assert failed_message_ids(result, IDS) == failed


def test_a_crashed_worker_fails_its_batch_which_sqs_retries_and_redrives(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The consumer's worker dies on "poison": its batch fails, the message comes back
    after the visibility timeout, and after maxReceiveCount (2) it is in the DLQ."""
    with isolation_stack() as (backend, stack):
        runtime = Runtime(stack.functions)
        runtime.load()
        stop = threading.Event()
        sqs = backend.client("sqs")
        (source,) = stack.sqs_sources
        poller = QueuePoller(source, runtime, sqs, stack.region, stop)
        poller.start()
        try:
            for body in ("poison", "fine"):
                sqs.send_message(QueueUrl=source.queue_url, MessageBody=body)
            dlq = str(stack.attributes["DeadLetters"].ref)
            moved = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=20).get("Messages", [])
        finally:
            stop.set()
            poller.join()
            runtime.close()
        assert [m["Body"] for m in moved] == ["poison"]
        left = sqs.get_queue_attributes(
            QueueUrl=source.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        assert left["Attributes"]["ApproximateNumberOfMessages"] == "0"
    log = capfd.readouterr().err
    assert log.count("Consumer: Runtime exited with error: exit status 9") == 2
