"""TenantSessions: the exact session policy, its size, the cache and its refresh.

moto does not evaluate IAM conditions, so these tests pin the policy document itself.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tenantkit.dynamo import TenantSessions, TenantTable, session_policy
from tenantkit.dynamo.sessions import MAX_SESSION_POLICY_CHARS
from tenantkit.errors import ConfigurationError, InvalidTenantIdError

from .conftest import SECRET, TABLE, create_table

ROLE = "arn:aws:iam::123456789012:role/tenant-data"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"
ITEM_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
]


class FakeSTS:
    """Records AssumeRole calls; credentials expire after ``lifetime``."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lifetime = timedelta(hours=1)

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        n = len(self.calls)
        return {
            "Credentials": {
                "AccessKeyId": f"AKIA{n}",
                "SecretAccessKey": f"secret{n}",
                "SessionToken": f"token{n}",
                "Expiration": datetime.now(UTC) + self.lifetime,
            }
        }


@pytest.fixture
def sts() -> FakeSTS:
    return FakeSTS()


@pytest.fixture
def sessions(sts: FakeSTS) -> TenantSessions:
    def factory(service_name: str, **kwargs: Any) -> Any:
        return sts if service_name == "sts" else {"service": service_name, **kwargs}

    return TenantSessions(ROLE, tables=[TABLE_ARN], client_factory=factory)


@pytest.mark.parametrize("tenant", ["texas", "new-york", "T_1", "x" * 64])
def test_exact_policy_document(tenant: str) -> None:
    policy = session_policy(tenant, [TABLE_ARN])
    assert json.loads(policy) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ITEM_ACTIONS,
                "Resource": [TABLE_ARN, f"{TABLE_ARN}/index/*"],
                "Condition": {
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{tenant}#*"]},
                    "Null": {"dynamodb:LeadingKeys": "false"},
                },
            }
        ],
    }
    assert len(policy) < MAX_SESSION_POLICY_CHARS
    assert " " not in policy


def test_policy_excludes_scans_partiql_and_wildcards() -> None:
    policy = json.loads(session_policy("texas", [TABLE_ARN]))
    (statement,) = policy["Statement"]
    actions = statement["Action"]
    for refused in (
        "dynamodb:Scan",
        "dynamodb:PartiQLSelect",
        "dynamodb:PartiQLInsert",
        "dynamodb:PartiQLUpdate",
        "dynamodb:PartiQLDelete",
        "dynamodb:DeleteTable",
        "dynamodb:DescribeTable",
    ):
        assert refused not in actions
    assert not any("*" in action for action in actions)
    assert statement["Effect"] == "Allow"


def test_policy_size_is_checked_at_construction(sts: FakeSTS) -> None:
    many = [f"{TABLE_ARN}-{i:02}" for i in range(12)]
    with pytest.raises(ConfigurationError, match="2048"):
        TenantSessions(ROLE, tables=many, client_factory=lambda *a, **k: sts)
    for bad in ([], "arn:aws:dynamodb:us-east-1:1:table/t", ["table-name"]):
        with pytest.raises(ConfigurationError):
            TenantSessions(ROLE, tables=bad, client_factory=lambda *a, **k: sts)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        TenantSessions("tenant-data", tables=[TABLE_ARN])


def test_assume_role_per_tenant_with_its_policy(sessions: TenantSessions, sts: FakeSTS) -> None:
    texas = sessions.client("dynamodb", "texas")
    utah = sessions.client("dynamodb", "utah")
    assert texas["aws_access_key_id"] == "AKIA1"
    assert utah["aws_session_token"] == "token2"
    assert [c["RoleSessionName"] for c in sts.calls] == ["tenant-texas", "tenant-utah"]
    assert [c["Policy"] for c in sts.calls] == [sessions.policy("texas"), sessions.policy("utah")]
    assert all(c["RoleArn"] == ROLE for c in sts.calls)
    long_id = "x" * 64
    sessions.client("dynamodb", long_id)
    assert sts.calls[-1]["RoleSessionName"] == long_id


def test_credentials_are_cached_until_shortly_before_expiry(
    sessions: TenantSessions, sts: FakeSTS
) -> None:
    first = sessions.client("dynamodb", "texas")
    assert sessions.client("dynamodb", "texas") is first
    assert len(sts.calls) == 1
    sts.lifetime = timedelta(minutes=4)  # inside the refresh margin
    sessions.client("dynamodb", "utah")
    again = sessions.client("dynamodb", "utah")
    assert len(sts.calls) == 3
    assert again["aws_access_key_id"] == "AKIA3"
    assert sessions.client("dynamodb", "texas") is first


def test_one_tenants_cold_lookup_does_not_wait_for_anothers(sts: FakeSTS) -> None:
    ohio_started = threading.Event()
    texas_started = threading.Event()

    class SlowTexas(FakeSTS):
        def assume_role(self, **kwargs: Any) -> dict[str, Any]:
            if "texas" in kwargs["RoleSessionName"]:
                texas_started.set()
                # Texas's AssumeRole waits until ohio's has started: with one lock
                # for every tenant, ohio could never start and this would time out.
                assert ohio_started.wait(timeout=5), "ohio's lookup waited for texas's"
            else:
                ohio_started.set()
            return super().assume_role(**kwargs)

    slow = SlowTexas()
    sessions = TenantSessions(
        ROLE,
        tables=[TABLE_ARN],
        client_factory=lambda name, **kw: slow if name == "sts" else {"service": name, **kw},
    )
    errors: list[BaseException] = []

    def texas() -> None:
        try:
            sessions.client("dynamodb", "texas")
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=texas)
    thread.start()
    assert texas_started.wait(timeout=5)  # texas is inside AssumeRole now
    sessions.client("dynamodb", "ohio")
    thread.join(timeout=10)
    assert errors == []
    assert len(slow.calls) == 2


def test_failed_lookups_leave_no_locks_behind() -> None:
    class Refusing(FakeSTS):
        def assume_role(self, **kwargs: Any) -> dict[str, Any]:
            raise PermissionError("AccessDenied")

    refusing = Refusing()
    sessions = TenantSessions(
        ROLE,
        tables=[TABLE_ARN],
        client_factory=lambda name, **kw: refusing if name == "sts" else {"service": name},
    )
    for n in range(50):
        with pytest.raises(PermissionError):
            sessions.client("dynamodb", f"tenant{n}")
    assert sessions._tenant_locks == {}


def test_expired_credentials_are_refreshed(sessions: TenantSessions, sts: FakeSTS) -> None:
    sts.lifetime = timedelta(seconds=-1)
    old = sessions.client("dynamodb", "texas")
    sts.lifetime = timedelta(hours=1)
    new = sessions.client("dynamodb", "texas")
    assert new is not old
    assert new["aws_access_key_id"] == "AKIA2"
    assert sessions.client("dynamodb", "texas") is new


def test_cache_is_bounded(sts: FakeSTS) -> None:
    sessions = TenantSessions(
        ROLE,
        tables=[TABLE_ARN],
        client_factory=lambda name, **kw: sts if name == "sts" else {"service": name, **kw},
        cache_size=2,
    )
    a = sessions.client("dynamodb", "a1")
    sessions.client("dynamodb", "b1")
    sessions.client("dynamodb", "a1")  # a1 is now the most recent
    sessions.client("dynamodb", "c1")  # evicts b1
    assert sessions.client("dynamodb", "a1") is a
    sessions.client("dynamodb", "b1")
    assert len(sts.calls) == 4


@pytest.mark.parametrize("tenant", ["", "a#b", "*", "x" * 65])
def test_invalid_tenant_never_reaches_sts(
    sessions: TenantSessions, sts: FakeSTS, tenant: str
) -> None:
    with pytest.raises(InvalidTenantIdError):
        sessions.client("dynamodb", tenant)
    assert sts.calls == []


def test_tenant_table_works_unchanged_with_a_session_client() -> None:
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="us-east-1"))
        sessions = TenantSessions(
            ROLE,
            tables=[TABLE_ARN],
            client_factory=lambda name, **kw: boto3.client(name, region_name="us-east-1", **kw),
        )
        client = sessions.client("dynamodb", "texas")
        table = TenantTable(TABLE, client=client, tenant="texas", cursor_key=SECRET)
        table.put_item({"pk": "p", "sk": "1"})
        assert table.get_item({"pk": "p", "sk": "1"}) == {"pk": "p", "sk": "1"}
        assert client._request_signer._credentials.access_key != "testing"


def test_clients_from_a_boto3_session_and_config() -> None:
    from botocore.config import Config

    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="us-east-1"))
        session = boto3.session.Session(region_name="us-east-1")
        sessions = TenantSessions(
            ROLE,
            tables=[TABLE_ARN],
            boto3_session=session,
            boto_config=Config(connect_timeout=7),
        )
        client = sessions.client("dynamodb", "texas")
        assert client.meta.region_name == "us-east-1"
        assert client.meta.config.connect_timeout == 7
        assert client._request_signer._credentials.access_key != "testing"
        table = TenantTable(TABLE, client=client, tenant="texas", cursor_key=SECRET)
        table.put_item({"pk": "p", "sk": "1"})
        assert table.get_item({"pk": "p", "sk": "1"}) == {"pk": "p", "sk": "1"}
    with pytest.raises(ConfigurationError, match="not both"):
        TenantSessions(ROLE, tables=[TABLE_ARN], client_factory=boto3.client, boto3_session=session)
