"""The key types: checked at construction, cheap to build, and never showing a secret."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from tenantkit._shared.keys import Jwks, PublicKeys, SecretKey, SecretsManagerKey
from tenantkit.errors import ConfigurationError

VALUE = "a-secret-of-at-least-thirty-two-bytes"


def test_secret_key_refuses_a_short_secret_and_hides_its_value() -> None:
    with pytest.raises(ConfigurationError, match="32 bytes"):
        SecretKey("x" * 31)
    key = SecretKey(VALUE)
    assert VALUE not in repr(key)
    assert key.source("k").get() == VALUE.encode()


def test_secrets_manager_key_builds_its_client_from_a_session_and_config() -> None:
    with mock_aws():
        session = boto3.session.Session(region_name="eu-west-3")
        session.client("secretsmanager").create_secret(
            Name="app/key", SecretString=json.dumps({"signature": VALUE})
        )
        key = SecretsManagerKey(
            "app/key", json_key="signature", boto3_session=session, boto_config=Config()
        )
        assert key.source("k").get() == VALUE.encode()


def test_secrets_manager_key_takes_a_client_or_a_session_not_both() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        SecretsManagerKey("s", client=object(), boto_config=Config())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [{"secret_id": ""}, {"secret_id": "s", "json_key": ""}, {"secret_id": "s", "cooldown": -1}],
)
def test_secrets_manager_key_refuses_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        SecretsManagerKey(**kwargs)


def test_constructing_keys_calls_nothing() -> None:
    class Refusing:
        def get_secret_value(self, **kwargs: Any) -> Any:
            raise AssertionError("fetched at construction")

    SecretsManagerKey("s", client=Refusing())  # type: ignore[arg-type]
    Jwks("https://issuer.example/jwks.json", fetcher=lambda url: pytest.fail("fetched"))
    assert "s" in repr(SecretsManagerKey("s"))


@pytest.mark.parametrize(
    ("url", "message"),
    [("http://issuer.example/jwks.json", "https"), ("https:///jwks.json", "host"), (None, "https")],
)
def test_jwks_needs_an_https_url_with_a_host(url: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Jwks(url)


def test_jwks_from_discovery_has_no_url_yet() -> None:
    jwks = Jwks.from_discovery(cooldown=5)
    assert (jwks.url, jwks.cooldown) == (None, 5.0)
    assert "discovery" in repr(jwks)


@pytest.mark.parametrize("keys", ["-----BEGIN PUBLIC KEY-----", b"der", {"kty": "RSA"}, [], None])
def test_public_keys_takes_a_non_empty_list(keys: Any) -> None:
    with pytest.raises(ConfigurationError, match="PublicKeys"):
        PublicKeys(keys)
