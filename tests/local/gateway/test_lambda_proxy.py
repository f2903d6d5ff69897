"""The Lambda proxy integration: response mapping and the integration timeout."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tenantkit.local.gateway import Gateway, Request
from tenantkit.local.gateway.integrations.lambda_proxy import proxy_response


def test_proxy_response_mapping() -> None:
    response = proxy_response(
        {
            "statusCode": 201,
            "headers": {"X-A": "1", "X-B": 2, "Set-Cookie": "ignored"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": "aGVsbG8=",
            "isBase64Encoded": True,
        }
    )
    assert response.status == 201
    assert response.body == b"hello"
    assert ("Set-Cookie", "a=1") in response.headers
    assert ("Set-Cookie", "b=2") in response.headers
    assert ("Set-Cookie", "ignored") not in response.headers
    assert ("X-B", "2") in response.headers
    assert ("Content-Type", "application/json") in response.headers
    assert proxy_response({"statusCode": 204}).body == b""


@pytest.mark.parametrize(
    "result",
    [
        None,
        "ok",
        {"statusCode": "200"},
        {"statusCode": True},
        {"statusCode": 99},
        {"body": "x"},
        {"statusCode": 200, "body": {"a": 1}},
        {"statusCode": 200, "surprise": 1},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "headers": {"X": {"nested": 1}}},
        {"statusCode": 200, "multiValueHeaders": {"X": "not-a-list"}},
        {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
        {"statusCode": 200, "isBase64Encoded": "yes"},
    ],
)
def test_malformed_proxy_responses(result: Any) -> None:
    with pytest.raises(ValueError, match=r"."):
        proxy_response(result)


def test_integration_timeout_is_504(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "tenantkit.local.gateway.integrations.lambda_proxy.INTEGRATION_TIMEOUT", -1.0
    )
    response = gateway.handle(Request("GET", "/open", [], [], b""))
    assert (response.status, json.loads(response.body)) == (
        504,
        {"message": "Endpoint request timed out"},
    )
