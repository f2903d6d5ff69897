"""Against a moto server on loopback: a webhook receiver really gets a published event."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from tenantkit.context import current_tenant, tenant_scope
from tenantkit.errors import EndpointRefusedError
from tenantkit.events import (
    EndpointPolicy,
    EnvelopeSigner,
    TopicRegistry,
    process_sqs_batch,
    send_message,
)
from tests.events.conftest import KEY, TABLE, create_table, ctx

pytestmark = pytest.mark.integration


class Receiver:
    """A webhook endpoint on a free loopback port that records every POST."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.posts.append(json.loads(self.rfile.read(length)))
                receiver.arrived.set()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/parks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def clients(endpoint: str) -> tuple[Any, Any, Any]:
    return tuple(  # type: ignore[return-value]
        boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")
        for service in ("dynamodb", "sns", "sqs")
    )


def test_a_subscribed_webhook_receives_the_published_event(
    moto_reset: str, receiver: Receiver
) -> None:
    dynamodb, sns, _ = clients(moto_reset)
    create_table(dynamodb)
    # Loopback and http are allowed here only because this is local development.
    local = TopicRegistry(
        TABLE,
        dynamodb_client=dynamodb,
        sns_client=sns,
        endpoint_policy=EndpointPolicy(allow_http=True, allow_loopback=True),
    )
    strict = TopicRegistry(TABLE, dynamodb_client=dynamodb, sns_client=sns)
    with tenant_scope(ctx("texas")):
        with pytest.raises(EndpointRefusedError):
            strict.subscribe("park-updated", receiver.url, resource_id="big-bend", protocol="http")
        sub = local.subscribe("park-updated", receiver.url, resource_id="big-bend", protocol="http")
        # moto 5.2 confirms http(s) subscriptions at once: no SubscriptionConfirmation POST.
        assert receiver.posts == []
        result = local.publish("park-updated", {"visitors": 7}, resource_id="big-bend")
    with tenant_scope(ctx("ohio")):
        assert not local.publish("park-updated", {"leak": True}, resource_id="big-bend").published
    assert result.published
    assert receiver.arrived.wait(10)
    (notification,) = receiver.posts
    assert notification["Type"] == "Notification"
    assert notification["TopicArn"] == sub.topic_arn
    event = json.loads(notification["Message"])
    assert event["tenantId"] == "texas"
    assert event["eventType"] == "park-updated"
    assert event["resourceId"] == "big-bend"
    assert event["data"] == {"visitors": 7}

    with tenant_scope(ctx("texas")):
        local.unsubscribe(sub.id)
        assert not local.publish("park-updated", {}, resource_id="big-bend").published
    assert sns.list_topics()["Topics"] == []


def test_envelopes_round_trip_through_a_real_queue(moto_reset: str) -> None:
    _, _, sqs = clients(moto_reset)
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    signer = EnvelopeSigner(key=KEY)
    for tenant in ("texas", "ohio"):
        with tenant_scope(ctx(tenant)):
            send_message(url, {"for": tenant}, signer=signer, client=sqs)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    event = {
        "Records": [
            {"messageId": m["MessageId"], "body": m["Body"], "attributes": {}} for m in messages
        ]
    }
    seen: list[tuple[str, Any]] = []
    result = process_sqs_batch(
        event, lambda payload: seen.append((current_tenant().tenant_id, payload)), signer=signer
    )
    assert result == {"batchItemFailures": []}
    assert sorted(seen) == [("ohio", {"for": "ohio"}), ("texas", {"for": "texas"})]
