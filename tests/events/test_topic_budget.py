"""The account-wide topic budget (issue 11 item 6): counted atomically, never exceeded."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tenantkit.context import tenant_scope
from tenantkit.errors import LimitExceededError
from tenantkit.events import TopicRegistry
from tests.events.conftest import TABLE, Aws, ctx


def budget_count(aws: Aws) -> int:
    item = aws.dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": "_events#budget"}, "sk": {"S": "_topics"}}
    ).get("Item")
    return 0 if item is None else int(item["count"]["N"])


def topic_records(aws: Aws) -> int:
    items = aws.dynamodb.scan(TableName=TABLE)["Items"]
    return sum(1 for i in items if i["sk"]["S"] == "_topic")


def sns_topics(aws: Aws) -> int:
    return len(aws.sns.list_topics()["Topics"])


def make(aws: Aws, budget: int, prefix: str = "tk") -> TopicRegistry:
    return TopicRegistry(
        TABLE,
        dynamodb_client=aws.dynamodb,
        sns_client=aws.sns,
        topic_prefix=prefix,
        topic_budget=budget,
    )


def test_the_budget_refuses_a_new_topic_and_nothing_else(aws: Aws) -> None:
    registry = make(aws, budget=2)
    with tenant_scope(ctx("texas")):
        first = registry.subscribe("a", "https://1.example.com/")
        registry.subscribe("b", "https://1.example.com/")
        aws.calls.clear()
        with pytest.raises(LimitExceededError, match="budget") as refused:
            registry.subscribe("c", "https://1.example.com/")
        assert refused.value.status_code == 429
        assert "sns:CreateTopic" not in aws.calls.calls
        # A topic that exists needs no budget: more endpoints on it are fine.
        registry.subscribe("a", "https://2.example.com/")
    with tenant_scope(ctx("ohio")), pytest.raises(LimitExceededError):
        registry.subscribe("a", "https://1.example.com/")  # the budget is account-wide
    assert (budget_count(aws), topic_records(aws), sns_topics(aws)) == (2, 2, 2)
    with tenant_scope(ctx("texas")):
        listed = registry.subscriptions()  # nothing half-made is listed
    assert len(listed) == 3
    assert first in listed


def test_deleting_a_topic_gives_its_budget_back(aws: Aws) -> None:
    registry = make(aws, budget=1)
    with tenant_scope(ctx("texas")):
        a = registry.subscribe("a", "https://1.example.com/")
        extra = registry.subscribe("a", "https://2.example.com/")
        registry.unsubscribe(a.id)
        assert budget_count(aws) == 1  # the topic still has a subscriber
        registry.unsubscribe(extra.id)
        assert (budget_count(aws), topic_records(aws), sns_topics(aws)) == (0, 0, 0)
    with tenant_scope(ctx("ohio")):
        registry.subscribe("b", "https://1.example.com/")
    assert budget_count(aws) == 1


def test_a_topic_that_could_not_be_deleted_stays_counted(aws: Aws) -> None:
    registry = make(aws, budget=1)

    def fail(**_: Any) -> None:
        raise RuntimeError("SNS is down")

    with tenant_scope(ctx("texas")):
        sub = registry.subscribe("a", "https://1.example.com/")
        aws.sns.meta.events.register("before-call.sns.DeleteTopic", fail, unique_id="fail")
        registry.unsubscribe(sub.id)
        aws.sns.meta.events.unregister("before-call.sns.DeleteTopic", unique_id="fail")
        assert (budget_count(aws), topic_records(aws), sns_topics(aws)) == (1, 1, 1)
        with pytest.raises(LimitExceededError):
            registry.subscribe("b", "https://1.example.com/")
        registry.subscribe("a", "https://1.example.com/")  # the kept topic is reused


def test_two_registries_sharing_the_table_never_exceed_the_budget(aws: Aws) -> None:
    """Twelve threads in two registries (two prefixes, as two apps or processes would
    be) race for four topics: exactly four are created, and at no point more exist."""
    budget = 4
    registries = [make(aws, budget, "app_one"), make(aws, budget, "app_two")]
    observer = boto3.client("sns", region_name="us-east-1")
    seen: list[int] = []

    def count_after_create(**_: Any) -> None:
        seen.append(len(observer.list_topics()["Topics"]))

    aws.sns.meta.events.register("after-call.sns.CreateTopic", count_after_create)
    barrier = threading.Barrier(12)
    outcomes: list[str] = []

    def subscribe(n: int) -> None:
        with tenant_scope(ctx(f"tenant{n}")):
            barrier.wait()
            try:
                registries[n % 2].subscribe("park-closed", "https://hooks.example.com/")
                outcomes.append("ok")
            except LimitExceededError:
                outcomes.append("refused")
            except BaseException as exc:  # reported below
                outcomes.append(repr(exc))

    threads = [threading.Thread(target=subscribe, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] * budget + ["refused"] * 8
    assert max(seen) <= budget
    assert (budget_count(aws), topic_records(aws), sns_topics(aws)) == (budget, budget, budget)


def test_concurrent_churn_keeps_the_counter_exact(aws: Aws) -> None:
    registry = make(aws, budget=100)
    with tenant_scope(ctx("texas")):
        kept = [registry.subscribe(f"e{n}", "https://1.example.com/") for n in range(4)]
    errors: list[BaseException] = []

    def churn(n: int) -> None:
        with tenant_scope(ctx("texas")):
            try:
                if n < 4:
                    registry.unsubscribe(kept[n].id)
                else:
                    registry.subscribe(f"e{n % 6}", f"https://{n}.example.com/")
            except BaseException as exc:  # reported below
                errors.append(exc)

    threads = [threading.Thread(target=churn, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert budget_count(aws) == topic_records(aws) == sns_topics(aws)


# -- review: a failed CreateTopic gives its unit back ------------------------------------


class Crash(BaseException):
    """The process dying inside a call: no ``except Exception`` clean-up runs."""


class FailingCreateTopic:
    """The SNS client, whose first ``failures`` CreateTopic calls raise ``error()``."""

    def __init__(self, sns: Any, failures: int, error: Any = None) -> None:
        self._sns = sns
        self.failures = failures
        self._error = error or (
            lambda: ClientError(
                {"Error": {"Code": "Throttled", "Message": "Rate exceeded"}}, "CreateTopic"
            )
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sns, name)

    def create_topic(self, **kwargs: Any) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise self._error()
        return self._sns.create_topic(**kwargs)


def flaky_registry(aws: Aws, budget: int, failures: int, error: Any = None) -> TopicRegistry:
    flaky: Any = FailingCreateTopic(aws.sns, failures, error)
    return TopicRegistry(TABLE, dynamodb_client=aws.dynamodb, sns_client=flaky, topic_budget=budget)


def test_attack_failed_create_topics_do_not_spend_the_budget(aws: Aws) -> None:
    registry = flaky_registry(aws, budget=5, failures=5)
    with tenant_scope(ctx("mallory-co", "member")):
        for i in range(5):
            with pytest.raises(ClientError):
                registry.subscribe(
                    "park-updated", "https://hooks.example.com/x", resource_id=f"r{i}"
                )
    assert (budget_count(aws), topic_records(aws), sns_topics(aws)) == (0, 0, 0)
    with tenant_scope(ctx("victim", "admin")):
        sub = registry.subscribe("park-updated", "https://hooks.example.com/y")
    assert sub.topic_arn.endswith(":tk-6_victim-n-12_park-updated")
    assert (budget_count(aws), topic_records(aws), sns_topics(aws)) == (1, 1, 1)


def test_a_subscribe_after_a_failed_create_creates_the_topic(aws: Aws) -> None:
    registry = flaky_registry(aws, budget=1, failures=2)
    with tenant_scope(ctx("texas")):
        for _ in range(2):
            with pytest.raises(ClientError):
                registry.subscribe("park-updated", "https://hooks.example.com/x")
        sub = registry.subscribe("park-updated", "https://hooks.example.com/x")
        assert registry.subscriptions() == [sub]
    assert (budget_count(aws), topic_records(aws), sns_topics(aws)) == (1, 1, 1)


def test_a_record_left_by_a_crashed_create_is_taken_over(aws: Aws) -> None:
    crashed = flaky_registry(aws, budget=1, failures=1, error=Crash)
    with tenant_scope(ctx("texas")), pytest.raises(Crash):
        crashed.subscribe("park-updated", "https://hooks.example.com/x")
    # The unit stays taken by the record without a topic, for the next subscribe to use.
    assert (budget_count(aws), topic_records(aws), sns_topics(aws)) == (1, 1, 0)
    with tenant_scope(ctx("texas")):
        sub = make(aws, budget=1).subscribe("park-updated", "https://hooks.example.com/x")
    assert sub.topic_arn.endswith(":tk-5_texas-n-12_park-updated")
    assert (budget_count(aws), topic_records(aws), sns_topics(aws)) == (1, 1, 1)
