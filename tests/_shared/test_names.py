"""The one DynamoDB table and index name grammar (the model and the agreement with
``Placement`` are in tests/dynamo/test_placement.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tenantkit._shared.dynamodb.names import is_dynamodb_name, validate_table_name
from tenantkit.errors import InvalidInputError


@pytest.mark.parametrize("name", ["abc", "tenantkit-silo_1.v2", "a" * 255])
def test_names_dynamodb_takes(name: str) -> None:
    assert is_dynamodb_name(name)
    assert validate_table_name(name) == name


@pytest.mark.parametrize("name", [None, 7, b"abc", "ab", "a" * 256, "bad name!", "abc\n"])
def test_anything_else_is_a_clean_400(name: Any) -> None:
    assert not is_dynamodb_name(name)
    with pytest.raises(InvalidInputError, match="table name") as refused:
        validate_table_name(name)
    assert refused.value.status_code == 400
