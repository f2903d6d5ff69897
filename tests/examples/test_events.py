"""Webhooks and park statuses: the change travels API -> queue (tenant envelope) -> topic."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.examples.conftest import Receiver, StateParks

PALO_DURO = {"parkId": "palo-duro-canyon"}


def subscribe(
    app: StateParks, user: str, park: dict[str, str], event_type: str, endpoint: str
) -> str:
    response = app.call(
        user,
        "POST",
        "/parks/{parkId}/webhooks",
        park,
        body={"eventType": event_type, "endpoint": endpoint},
    )
    assert response.status == 201, response.body
    webhook_id: str = response.body["id"]
    return webhook_id


def close(app: StateParks, user: str, park: dict[str, str], status: str = "park-closed") -> int:
    response = app.call(user, "POST", "/parks/{parkId}/statuses", park, body={"status": status})
    return response.status


def test_a_closure_reaches_the_parks_webhook_through_the_queue(
    app: StateParks, receiver: Receiver
) -> None:
    subscribe(app, "alice", PALO_DURO, "park-closed", f"{receiver.url}/closed")
    subscribe(app, "alice", PALO_DURO, "park-reopened", f"{receiver.url}/reopened")
    subscribe(app, "alice", {"parkId": "enchanted-rock"}, "park-closed", f"{receiver.url}/rock")
    subscribe(app, "bob", {"parkId": "deception-pass"}, "park-closed", f"{receiver.url}/bob")

    assert close(app, "alice", PALO_DURO) == 204
    assert app.call("carol", "GET", "/parks/{parkId}", PALO_DURO).body["status"] == "park-closed"
    assert receiver.notifications("/closed") == []  # nothing is published before the consumer

    result = app.drain_status_queue()
    assert (result["count"], result["batchItemFailures"]) == (1, [])
    [event] = receiver.notifications("/closed")
    assert event["tenantId"] == "texas"
    assert event["eventType"] == "park-closed"
    assert event["resourceId"] == "palo-duro-canyon"
    assert event["data"]["parkId"] == "palo-duro-canyon"
    # Another event type, another park and another tenant's subscribers hear nothing.
    assert receiver.notifications("/reopened") == []
    assert receiver.notifications("/rock") == []
    assert receiver.notifications("/bob") == []

    assert close(app, "alice", PALO_DURO, "park-reopened") == 204
    app.drain_status_queue()
    [reopened] = receiver.notifications("/reopened")
    assert (reopened["tenantId"], reopened["eventType"]) == ("texas", "park-reopened")


def test_the_event_keeps_the_tenant_of_the_request_after_a_switch(
    app: StateParks, receiver: Receiver
) -> None:
    subscribe(app, "alice", PALO_DURO, "natural-disaster", f"{receiver.url}/disaster")
    assert close(app, "alice", PALO_DURO, "natural-disaster") == 204
    assert app.call("alice", "PUT", "/settings", body={"customerId": "colorado"}).status == 204
    app.drain_status_queue()
    [event] = receiver.notifications("/disaster")
    assert event["tenantId"] == "texas"


def test_the_queued_message_is_a_signed_tenant_envelope(app: StateParks) -> None:
    import config

    assert close(app, "alice", PALO_DURO) == 204
    sqs = config.aws_client("sqs")
    [message] = sqs.receive_message(
        QueueUrl=config.setting("QUEUE_URL"), MessageAttributeNames=["All"]
    )["Messages"]
    assert message["MessageAttributes"]["tenant_id"]["StringValue"] == "texas"
    context, payload = config.envelope_signer().open(message["Body"])
    assert (context.tenant_id, context.user_id) == ("texas", "alice")
    assert payload["parkId"] == "palo-duro-canyon"
    assert payload["status"] == "park-closed"


def test_a_tampered_envelope_is_refused_and_reported_as_a_failure(
    app: StateParks, receiver: Receiver
) -> None:
    import config

    subscribe(app, "bob", {"parkId": "deception-pass"}, "park-closed", f"{receiver.url}/bob")
    assert close(app, "alice", PALO_DURO) == 204
    sqs = config.aws_client("sqs")
    url = config.setting("QUEUE_URL")
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    # Re-address alice's texas closure to washington's deception-pass, keeping the signature.
    forged = (
        message["Body"]
        .replace('"texas"', '"washington"')
        .replace("palo-duro-canyon", "deception-pass")
    )
    assert forged != message["Body"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody=forged,
        MessageAttributes={"tenant_id": {"DataType": "String", "StringValue": "washington"}},
    )
    result = app.drain_status_queue()
    assert result["count"] == 1
    assert len(result["batchItemFailures"]) == 1
    assert receiver.received == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"status": "park-opened"}, 400),
        ({"status": "on-fire"}, 400),
        ({}, 400),
        ({"status": ["park-closed"]}, 400),
    ],
)
def test_bad_status_bodies_are_400s(app: StateParks, body: dict[str, Any], status: int) -> None:
    response = app.call("alice", "POST", "/parks/{parkId}/statuses", PALO_DURO, body=body)
    assert response.status == status
    assert response.body["errors"]


def test_a_status_for_an_absent_park_is_a_404_and_queues_nothing(app: StateParks) -> None:
    assert close(app, "alice", {"parkId": "atlantis"}) == 404
    assert close(app, "alice", {"parkId": "Bad#Id"}) == 404
    assert app.drain_status_queue()["count"] == 0


def test_only_admins_change_statuses(app: StateParks, texas_member: str) -> None:
    assert close(app, texas_member, PALO_DURO) == 403
    assert close(app, "carol", PALO_DURO) == 403
    assert close(app, "dave", PALO_DURO) == 403
    assert app.drain_status_queue()["count"] == 0


def test_webhooks_are_listed_and_deleted_per_park_and_tenant(
    app: StateParks, texas_member: str
) -> None:
    hook = subscribe(app, texas_member, PALO_DURO, "park-closed", "https://hooks.example.com/m")
    other = subscribe(
        app, "alice", {"parkId": "enchanted-rock"}, "park-closed", "https://hooks.example.com/a"
    )
    listed = app.call("alice", "GET", "/parks/{parkId}/webhooks", PALO_DURO)
    assert listed.status == 200
    [item] = listed.body["items"]
    assert item["id"] == hook
    assert (item["eventType"], item["endpoint"], item["mine"]) == (
        "park-closed",
        "https://***.example.com/***om/m",
        False,
    )

    # bob, in washington, cannot delete texas's webhook, even through one of his parks.
    for park in (PALO_DURO, {"parkId": "deception-pass"}):
        params = {**park, "webhookId": hook}
        refused = app.call("bob", "DELETE", "/parks/{parkId}/webhooks/{webhookId}", params)
        assert refused.status == 404
    # Nor can it be deleted through another park of the same tenant.
    params = {"parkId": "enchanted-rock", "webhookId": hook}
    assert app.call("alice", "DELETE", "/parks/{parkId}/webhooks/{webhookId}", params).status == 404

    params = {**PALO_DURO, "webhookId": hook}
    assert app.call("alice", "DELETE", "/parks/{parkId}/webhooks/{webhookId}", params).status == 204
    assert app.call("alice", "DELETE", "/parks/{parkId}/webhooks/{webhookId}", params).status == 404
    assert app.call("alice", "GET", "/parks/{parkId}/webhooks", PALO_DURO).body == {"items": []}
    rock = app.call("alice", "GET", "/parks/{parkId}/webhooks", {"parkId": "enchanted-rock"})
    assert [i["id"] for i in rock.body["items"]] == [other]


SECRET_HOOK = "https://s3cr3tlabel.hooks.example.com/in;key=Q9x7Zr2Lm4Np/x?token=Zq8Wm3Kd/hook"
SECRETS = ("s3cr3tlabel", "Q9x7Zr2Lm4Np", "Zq8Wm3Kd")


def test_endpoint_credentials_are_masked_in_listings(app: StateParks) -> None:
    subscribe(app, "alice", PALO_DURO, "park-closed", SECRET_HOOK)
    for user in ("alice", "carol"):
        listed = app.call(user, "GET", "/parks/{parkId}/webhooks", PALO_DURO).body
        [item] = listed["items"]
        assert item["endpoint"] == "https://***.example.com/***hook"
        assert item["mine"] is (user == "alice")
        assert not any(secret in json.dumps(listed) for secret in SECRETS)


def test_attack_a_visitor_or_member_cannot_read_or_delete_an_admins_webhook(
    app: StateParks, texas_member: str
) -> None:
    hook = subscribe(app, "alice", PALO_DURO, "park-closed", SECRET_HOOK)
    params = {**PALO_DURO, "webhookId": hook}
    route = "/parks/{parkId}/webhooks/{webhookId}"
    for intruder in ("carol", texas_member):  # a visitor, then a member of texas
        for method in ("GET", "DELETE"):
            refused = app.call(intruder, method, route, params)
            assert refused.status == 403, (intruder, method)
            assert not any(secret in json.dumps(refused.body) for secret in SECRETS)
    shown = app.call("alice", "GET", route, params)
    assert shown.status == 200
    assert (shown.body["id"], shown.body["endpoint"], shown.body["mine"]) == (
        hook,
        SECRET_HOOK,
        True,
    )
    listed = app.call("alice", "GET", "/parks/{parkId}/webhooks", PALO_DURO).body
    assert [item["id"] for item in listed["items"]] == [hook]


def test_attack_a_member_subscribing_an_admins_endpoint_gets_a_409_that_names_nothing(
    app: StateParks, texas_member: str
) -> None:
    hook = subscribe(app, "alice", PALO_DURO, "park-closed", SECRET_HOOK)
    body = {"eventType": "park-closed", "endpoint": SECRET_HOOK}
    refused = app.call(texas_member, "POST", "/parks/{parkId}/webhooks", PALO_DURO, body=body)
    assert refused.status == 409
    assert hook not in json.dumps(refused.body)
    assert "alice" not in json.dumps(refused.body)
    route = "/parks/{parkId}/webhooks/{webhookId}"
    params = {**PALO_DURO, "webhookId": hook}
    assert app.call(texas_member, "DELETE", route, params).status == 403
    assert app.call("alice", "GET", route, params).body["mine"] is True


def test_an_admin_subscribing_a_members_endpoint_takes_it_over(
    app: StateParks, texas_member: str
) -> None:
    endpoint = "https://ops.example.com/alerts/abc"
    squatted = subscribe(app, texas_member, PALO_DURO, "park-closed", endpoint)
    assert subscribe(app, "alice", PALO_DURO, "park-closed", endpoint) == squatted
    assert subscribe(app, "alice", PALO_DURO, "park-closed", endpoint) == squatted
    params = {**PALO_DURO, "webhookId": squatted}
    route = "/parks/{parkId}/webhooks/{webhookId}"
    assert app.call(texas_member, "DELETE", route, params).status == 403
    assert app.call("alice", "GET", route, params).body["mine"] is True


def test_members_manage_their_own_webhooks_and_admins_everyones(
    app: StateParks, texas_member: str
) -> None:
    route = "/parks/{parkId}/webhooks/{webhookId}"
    own = subscribe(app, texas_member, PALO_DURO, "park-closed", "https://hooks.example.com/own")
    params = {**PALO_DURO, "webhookId": own}
    shown = app.call(texas_member, "GET", route, params).body
    assert (shown["endpoint"], shown["mine"]) == ("https://hooks.example.com/own", True)
    assert app.call(texas_member, "DELETE", route, params).status == 204
    theirs = subscribe(app, texas_member, PALO_DURO, "park-closed", "https://hooks.example.com/t")
    params = {**PALO_DURO, "webhookId": theirs}
    assert app.call("alice", "GET", route, params).body["endpoint"] == "https://hooks.example.com/t"
    assert app.call("alice", "DELETE", route, params).status == 204
    assert app.call("alice", "GET", route, params).status == 404


def test_visitors_only_list_webhooks(app: StateParks) -> None:
    body = {"eventType": "park-closed", "endpoint": "https://hooks.example.com/carol"}
    assert app.call("carol", "POST", "/parks/{parkId}/webhooks", PALO_DURO, body=body).status == 403
    assert app.call("carol", "GET", "/parks/{parkId}/webhooks", PALO_DURO).status == 200


REFUSED_ENDPOINTS = [
    "http://hooks.example.com/x",
    "https://127.0.0.1/x",
    "https://localhost/x",
    "https://169.254.169.254/latest/meta-data",
    "https://[::ffff:169.254.169.254]/",
    "https://2852039166/",
    "https://0177.0.0.1/",
    "https://10.0.0.5/",
    "https://user:pass@hooks.example.com/",
    "https://good@169.254.169.254/",
    "https://metadata.internal/",
    "https://169.254.169.254.nip.io/latest/meta-data",
    "https://magic-0a000001.nip.io/",
    "https://kubernetes.default.svc/",
    "ftp://hooks.example.com/",
    "not a url",
]


def test_a_refused_endpoint_is_a_400(app: StateParks) -> None:
    for endpoint in REFUSED_ENDPOINTS:
        response = app.call(
            "alice",
            "POST",
            "/parks/{parkId}/webhooks",
            PALO_DURO,
            body={"eventType": "park-closed", "endpoint": endpoint},
        )
        assert response.status == 400, endpoint
        assert set(response.body) == {"message"}
    assert app.call("alice", "GET", "/parks/{parkId}/webhooks", PALO_DURO).body == {"items": []}


@pytest.mark.parametrize(
    ("records", "endpoint"),
    [
        (["10.0.0.7"], "https://inside.example.com/hook"),
        (["93.184.216.34", "169.254.169.254"], "https://rebind.example.com/hook"),
        (["fd00::7"], "https://v6inside.example.com/hook"),
        ([], "https://nothing.example.com/hook"),
    ],
)
def test_attack_a_name_resolving_inside_is_refused_at_subscribe_time(
    app: StateParks, records: list[str], endpoint: str
) -> None:
    host = endpoint.split("/")[2]
    app.dns.records[host] = records
    response = app.call(
        "alice",
        "POST",
        "/parks/{parkId}/webhooks",
        PALO_DURO,
        body={"eventType": "park-closed", "endpoint": endpoint},
    )
    assert response.status == 400, response.body
    assert host not in json.dumps(response.body)
    assert app.call("alice", "GET", "/parks/{parkId}/webhooks", PALO_DURO).body == {"items": []}


def test_attack_a_name_resolving_inside_is_refused_with_local_webhooks_too(
    app: StateParks, receiver: Receiver
) -> None:
    app.dns.records["printer.example.com"] = ["192.168.1.20"]
    response = app.call(
        "alice",
        "POST",
        "/parks/{parkId}/webhooks",
        PALO_DURO,
        body={"eventType": "park-closed", "endpoint": "http://printer.example.com/hook"},
    )
    assert response.status == 400, response.body


def test_the_example_resolves_webhook_hosts_with_the_system_resolver() -> None:
    """Outside the tests' fake DNS, the example asks the system resolver (here for
    localhost, which the hosts file answers: no DNS query leaves the machine)."""
    import config

    assert set(config.resolve_webhook_host("localhost")) & {"127.0.0.1", "::1"}


def test_loopback_endpoints_need_allow_local_webhooks(app: StateParks, receiver: Receiver) -> None:
    """The receiver fixture turns AllowLocalWebhooks on; that is what lets it subscribe."""
    assert subscribe(app, "alice", PALO_DURO, "park-closed", f"{receiver.url}/ok")


@pytest.mark.parametrize(
    "body",
    [
        {"eventType": "park-exploded", "endpoint": "https://hooks.example.com/"},
        # the reference accepts it, but no status change ever publishes park-opened
        {"eventType": "park-opened", "endpoint": "https://hooks.example.com/"},
        {"eventType": "park-closed", "endpoint": ""},
        {"eventType": "park-closed"},
        {"endpoint": "https://hooks.example.com/"},
        {"eventType": "park-closed", "endpoint": "https://h.example.com/" + "x" * 2100},
    ],
)
def test_bad_webhook_bodies_are_400s(app: StateParks, body: dict[str, Any]) -> None:
    response = app.call("alice", "POST", "/parks/{parkId}/webhooks", PALO_DURO, body=body)
    assert response.status == 400
    assert response.body["errors"]


def test_webhooks_on_an_absent_park_are_404s(app: StateParks) -> None:
    park = {"parkId": "atlantis"}
    body = {"eventType": "park-closed", "endpoint": "https://hooks.example.com/"}
    assert app.call("alice", "POST", "/parks/{parkId}/webhooks", park, body=body).status == 404
    assert app.call("alice", "GET", "/parks/{parkId}/webhooks", park).status == 404


def test_a_mixed_batch_fails_only_the_forged_record_and_keeps_each_tenant(
    app: StateParks, receiver: Receiver
) -> None:
    import config

    subscribe(app, "alice", PALO_DURO, "park-closed", f"{receiver.url}/texas")
    subscribe(app, "bob", {"parkId": "deception-pass"}, "park-closed", f"{receiver.url}/wa")
    assert close(app, "alice", PALO_DURO) == 204
    sqs = config.aws_client("sqs")
    url = config.setting("QUEUE_URL")
    [texas] = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=texas["ReceiptHandle"], VisibilityTimeout=0
    )
    forged = texas["Body"].replace('"alice"', '"bob"')
    assert forged != texas["Body"]
    forged_id = sqs.send_message(QueueUrl=url, MessageBody=forged)["MessageId"]
    assert close(app, "bob", {"parkId": "deception-pass"}) == 204

    result = app.drain_status_queue()
    assert result["count"] == 3
    assert result["batchItemFailures"] == [{"itemIdentifier": forged_id}]
    assert [e["tenantId"] for e in receiver.notifications("/texas")] == ["texas"]
    assert [e["tenantId"] for e in receiver.notifications("/wa")] == ["washington"]


def test_attack_a_replayed_status_envelope_is_announced_once(
    app: StateParks, receiver: Receiver
) -> None:
    """SQS delivers at least once, and whoever can send to the queue can replay a body:
    the consumer announces each envelope once and acknowledges every copy."""
    import config

    subscribe(app, "alice", PALO_DURO, "park-closed", f"{receiver.url}/closed")
    assert close(app, "alice", PALO_DURO) == 204
    sqs = config.aws_client("sqs")
    url = config.setting("QUEUE_URL")
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    # The same message comes back (its visibility ends), and a copy is sent again.
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    sqs.send_message(
        QueueUrl=url,
        MessageBody=message["Body"],
        MessageAttributes={"tenant_id": {"DataType": "String", "StringValue": "texas"}},
    )
    first = app.drain_status_queue()
    assert (first["count"], first["batchItemFailures"]) == (2, [])
    # A replay in a later batch is acknowledged too, and announces nothing.
    sqs.send_message(QueueUrl=url, MessageBody=message["Body"])
    later = app.drain_status_queue()
    assert (later["count"], later["batchItemFailures"]) == (1, [])
    assert len(receiver.notifications("/closed")) == 1


def test_the_consumer_writes_only_its_ledger_keys_and_the_table_expires_them() -> None:
    from tests.examples.conftest import load_template

    resources = load_template()["Resources"]
    consumer = resources["StatusConsumerFunction"]["Properties"]
    writes = [
        statement
        for policy in consumer["Policies"]
        for statement in policy["Statement"]
        if any(
            action in {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
            for action in (
                [statement["Action"]]
                if isinstance(statement["Action"], str)
                else statement["Action"]
            )
        )
    ]
    assert len(writes) == 1
    [statement] = writes
    assert sorted(statement["Action"]) == ["dynamodb:DeleteItem", "dynamodb:PutItem"]
    condition = statement["Condition"]
    assert condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == [
        "_once#status-announcer#*"
    ]
    # ForAllValues is true when the key is absent: the Null check closes that.
    assert condition["Null"] == {"dynamodb:LeadingKeys": "false"}
    ttl = resources["ParksTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expiresAt", "Enabled": True}
