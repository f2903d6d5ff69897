"""Fixtures for tenantkit.events: moto SNS/SQS/DynamoDB in-process, and API-call counters."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import moto.sns.models
import pytest
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from tenantkit.context import TenantContext
from tenantkit.dynamo import SecretKey, TenantTable
from tenantkit.events import TopicRegistry
from tests.tables import create_keyed_table

TABLE = "tenantkit-events-test"
SECRET = "an-envelope-secret-of-at-least-32-bytes!"
KEY = SecretKey(SECRET)


def ctx(tenant: str, *roles: str) -> TenantContext:
    return TenantContext(tenant_id=tenant, user_id=f"user-{tenant}", roles=frozenset(roles))


def create_table(client: Any, name: str = TABLE) -> None:
    create_keyed_table(client, name)


@dataclass
class CallLog:
    """Every AWS operation a client made, as ``service:Operation`` strings."""

    calls: list[str] = field(default_factory=list)

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_name

        def record(model: Any, **_: Any) -> None:
            self.calls.append(f"{service}:{model.name}")

        client.meta.events.register("before-call.*.*", record)

    def count(self, prefix: str) -> int:
        return sum(1 for call in self.calls if call.startswith(prefix))

    def clear(self) -> None:
        self.calls.clear()


@dataclass
class Aws:
    dynamodb: Any
    sns: Any
    sqs: Any
    calls: CallLog
    posts: list[tuple[str, dict[str, Any]]]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """moto in-process. moto POSTs http(s) notifications for real; record them instead.

    Each AWS API call is atomic in AWS but not in moto, whose backends are plain dicts
    without locks (concurrent calls fail with "dictionary changed size during
    iteration" or lose an ``ADD``). One lock per request makes moto's calls atomic too,
    while the registry's sequences of calls still interleave freely between threads.
    """
    posts: list[tuple[str, dict[str, Any]]] = []

    def fake_post(url: str, **kwargs: Any) -> None:
        posts.append((url, kwargs))

    monkeypatch.setattr(moto.sns.models.requests, "post", fake_post)
    lock = threading.RLock()
    unlocked = BotocoreStubber.__call__

    def atomic(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return unlocked(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", atomic)
    with mock_aws():
        calls = CallLog()
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        sns = boto3.client("sns", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        create_table(dynamodb)
        calls.attach(dynamodb)
        calls.attach(sns)
        yield Aws(dynamodb, sns, sqs, calls, posts)


@pytest.fixture
def table(aws: Aws) -> TenantTable:
    return TenantTable(TABLE, client=aws.dynamodb, cursor_key=KEY)


@pytest.fixture
def registry(aws: Aws) -> TopicRegistry:
    return TopicRegistry(TABLE, dynamodb_client=aws.dynamodb, sns_client=aws.sns)
