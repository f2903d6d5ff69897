"""Poll the template's SQS event sources and invoke their functions, as Lambda does.

One thread per ``SQS`` event: it receives up to ``BatchSize`` messages, invokes the
function with an SQS batch event, and deletes the messages that succeeded. With
``FunctionResponseTypes: [ReportBatchItemFailures]`` the function's
``batchItemFailures`` name the failed ones; an error, or an invalid item identifier,
fails the whole batch. Failed messages are left alone, so they become visible again
after the queue's ``VisibilityTimeout``; the backend's redrive policy moves them to
the dead-letter queue once they have been received ``maxReceiveCount`` times.
"""

from __future__ import annotations

import base64
import sys
import threading
from typing import Any

from tenantkit.local.functions import InvocationError, Runtime
from tenantkit.local.stack_specs import SqsSourceSpec

__all__ = ["QueuePoller", "failed_message_ids"]

MAX_RECEIVE = 10
WAIT_SECONDS = 1


def failed_message_ids(result: Any, message_ids: list[str]) -> set[str]:
    """The messages a partial batch response reports failed (all, if it is invalid)."""
    if result is None or result == {}:
        return set()
    if not isinstance(result, dict):
        return set(message_ids)
    failures = result.get("batchItemFailures")
    if failures is None or failures == []:
        return set()
    if not isinstance(failures, list):
        return set(message_ids)
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            return set(message_ids)
        failed.add(identifier)
    return failed


def _record(message: dict[str, Any], source: SqsSourceSpec, region: str) -> dict[str, Any]:
    attributes = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        binary = value.get("BinaryValue")
        attributes[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode() if binary is not None else None,
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": [
                base64.b64encode(b).decode() for b in value.get("BinaryListValues", [])
            ],
            "dataType": value.get("DataType"),
        }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": message.get("Attributes", {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": source.queue_arn,
        "awsRegion": region,
    }


class QueuePoller(threading.Thread):
    """Delivers one queue's messages to one function until ``stop`` is set."""

    def __init__(
        self,
        source: SqsSourceSpec,
        runtime: Runtime,
        client: Any,
        region: str,
        stop: threading.Event,
    ) -> None:
        super().__init__(name=f"sqs-{source.queue}-{source.function}", daemon=True)
        self.source = source
        self.runtime = runtime
        self.client = client
        self.region = region
        self.stop = stop

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                messages = self._receive()
                if messages:
                    self.deliver(messages)
            except Exception as error:  # the backend went away: report, retry shortly
                if self.stop.is_set():
                    return
                print(
                    f"tenantkit local: polling {self.source.queue} failed: "
                    f"{type(error).__name__}: {error}",
                    file=sys.stderr,
                )
                self.stop.wait(1.0)

    def _receive(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < self.source.batch_size and not self.stop.is_set():
            response = self.client.receive_message(
                QueueUrl=self.source.queue_url,
                MaxNumberOfMessages=min(MAX_RECEIVE, self.source.batch_size - len(messages)),
                WaitTimeSeconds=0 if messages else WAIT_SECONDS,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages") or []
            if not received:
                break
            messages.extend(received)
        return messages

    def deliver(self, messages: list[dict[str, Any]]) -> set[str]:
        """Invoke the function with one batch; delete what succeeded; return failed ids."""
        records = [_record(m, self.source, self.region) for m in messages]
        ids = [r["messageId"] for r in records]
        try:
            result = self.runtime.invoke(self.source.function, {"Records": records})
        except InvocationError:
            failed = set(ids)
        else:
            failed = failed_message_ids(result, ids) if self.source.report_failures else set()
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), MAX_RECEIVE):
            chunk = done[start : start + MAX_RECEIVE]
            self.client.delete_message_batch(
                QueueUrl=self.source.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )
        print(
            f"tenantkit local: SQS {self.source.queue} -> {self.source.function}: "
            f"{len(messages)} message(s), {len(failed)} failed",
            file=sys.stderr,
            flush=True,
        )
        return failed
