"""Construction, cursor secrets, the import cost, and how AWS errors are mapped."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from tenantkit.context import tenant_scope
from tenantkit.dynamo import SecretKey, TenantTable, cursor
from tenantkit.errors import (
    ConditionFailedError,
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    InvalidKeyError,
    InvalidValueError,
    UnexpectedResponseError,
)

from .conftest import TABLE, ctx, transact


def test_importing_tenantkit_dynamo_does_not_import_boto3() -> None:
    code = (
        "import sys, tenantkit.dynamo; "
        "loaded = [m for m in ('boto3', 'botocore') if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"table_name": ""},
        {"partition_key": ""},
        {"indexes": {"GSI1": ""}},
        {"sort_key": "pk"},
        {"sort_key": "GSI1PK"},
        {"cursor_key": b"s" * 32},  # the secret itself, not SecretKey(...)
        {"cursor_key": "x" * 31},
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"table_name": TABLE, **kwargs}
    with pytest.raises(ConfigurationError):
        TenantTable(**args)


@pytest.mark.parametrize("secret", [b"short", "x" * 31])
def test_a_short_cursor_secret_is_refused(secret: str | bytes) -> None:
    with pytest.raises(ConfigurationError, match="32 bytes"):
        TenantTable(TABLE, cursor_key=SecretKey(secret))


def test_missing_cursor_secret_warns_once_and_cursors_work_in_process(
    client: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(cursor, "_process_secret", None)
    first = TenantTable(TABLE, client=client)
    second = TenantTable(TABLE, client=client)
    with caplog.at_level(logging.WARNING, logger="tenantkit.dynamo"), tenant_scope(ctx("texas")):
        first.batch_write(put=[{"pk": "p", "sk": str(i)} for i in range(3)])
        page = first.query("p", limit=2)
        assert page.cursor is not None
        assert [i["sk"] for i in second.query("p", limit=2, cursor=page.cursor).items] == ["2"]
    warnings = [r for r in caplog.records if "cursor_key" in r.getMessage()]
    assert len(warnings) == 1
    assert "b'" not in warnings[0].getMessage()


class FailingClient:
    """Raises a given botocore ClientError from every call."""

    def __init__(self, response: dict[str, Any], operation: str) -> None:
        self.error = ClientError(response, operation)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        def call(**_: Any) -> Any:
            raise self.error

        return call


def _table(response: dict[str, Any], operation: str) -> TenantTable:
    client = FailingClient(response, operation)
    return TenantTable(TABLE, client=client, tenant="texas")  # type: ignore[arg-type]


def test_transaction_conflict_becomes_conflict_error() -> None:
    table = _table(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
        },
        "TransactWriteItems",
    )
    with pytest.raises(ConflictError, match="retry") as err:
        transact(
            table,
            lambda tx: tx.put({"pk": "a", "sk": "1"}),
            lambda tx: tx.put({"pk": "b", "sk": "1"}),
        )
    assert err.value.__context__ is None


def test_condition_failure_with_an_item_in_the_response_does_not_carry_it() -> None:
    table = _table(
        {
            "Error": {"Code": "ConditionalCheckFailedException", "Message": "failed"},
            "Item": {"pk": {"S": "texas#a"}, "secret": {"S": "s3cr3t"}},
        },
        "PutItem",
    )
    with pytest.raises(ConditionFailedError) as err:
        table.put_item({"pk": "a", "sk": "1"}, condition=Attr("x").exists())
    assert "s3cr3t" not in repr(vars(err.value)) + str(err.value)
    assert err.value.__context__ is None
    assert err.value.__cause__ is None


def test_other_aws_errors_propagate_unchanged() -> None:
    table = _table(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        "GetItem",
    )
    with pytest.raises(ClientError, match="slow down"):
        table.get_item({"pk": "a", "sk": "1"})
    cancelled = _table(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": "ValidationError"}],
        },
        "TransactWriteItems",
    )
    with pytest.raises(ClientError, match="cancelled"):
        transact(cancelled, lambda tx: tx.put({"pk": "a", "sk": "1"}))


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("Item size has exceeded the maximum allowed size", InvalidValueError),
        ("Item size to update has exceeded the maximum allowed size", InvalidValueError),
        ("Nesting Levels have exceeded supported limits", InvalidValueError),
        ("One or more parameter values were invalid: Type mismatch for key sk", InvalidKeyError),
        (
            "One or more parameter values were invalid: Type mismatch for Index Key GSI1SK "
            "Expected: S Actual: N IndexName: GSI1",
            InvalidKeyError,
        ),
        (
            "One or more parameter values were invalid: Condition parameter type does not match "
            "schema type",
            InvalidKeyError,
        ),
        ("The provided key element does not match the schema", InvalidKeyError),
    ],
)
def test_validation_errors_caused_by_the_callers_values_are_400(
    message: str, error: type[Exception]
) -> None:
    table = _table({"Error": {"Code": "ValidationException", "Message": message}}, "GetItem")
    with pytest.raises(error) as raised:
        table.get_item({"pk": "a", "sk": 1})
    assert raised.value.status_code == 400  # type: ignore[attr-defined]
    assert raised.value.__context__ is None


def test_other_validation_errors_propagate_unchanged() -> None:
    table = _table(
        {
            "Error": {
                "Code": "ValidationException",
                "Message": "Cannot do operations on a non-existent table",
            }
        },
        "GetItem",
    )
    with pytest.raises(ClientError, match="non-existent table"):
        table.get_item({"pk": "a", "sk": "1"})


def test_a_sort_key_of_the_wrong_type_is_a_400(client: Any) -> None:
    table = TenantTable(TABLE, client=client, tenant="texas")
    with pytest.raises(InvalidKeyError, match="wrong type"):
        table.update_item({"pk": "a", "sk": 5}, set={"x": 1})


class FutureTypes:
    """A client whose answers hold an attribute type this version of tenantkit does not know."""

    def __init__(self) -> None:
        self.item = {"pk": {"S": "texas#a"}, "sk": {"S": "1"}, "shape": {"GEO": "POINT(1 2)"}}

    def get_item(self, **_: Any) -> dict[str, Any]:
        return {"Item": self.item}

    def query(self, **_: Any) -> dict[str, Any]:
        return {"Items": [self.item], "Count": 1}


def test_an_unknown_attribute_type_in_an_answer_is_a_server_fault_not_a_400() -> None:
    table = TenantTable(TABLE, client=FutureTypes(), tenant="texas")  # type: ignore[arg-type]
    for read in (lambda: table.get_item({"pk": "a", "sk": "1"}), lambda: table.query("a")):
        with pytest.raises(UnexpectedResponseError) as raised:
            read()
        assert raised.value.status_code == 502
        assert not isinstance(raised.value, InvalidInputError)
