"""tenantkit.secrets: a Secrets Manager key, fetched lazily and refreshed with care."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tenantkit.errors import ConfigurationError, KeySourceError
from tenantkit.secrets import SecretsManagerKey

KEY = "a-key-of-at-least-thirty-two-bytes!!"


def check(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    if len(raw) < 32:
        raise ConfigurationError("too short")
    return raw


class Fake:
    """Counts fetches; ``value`` is what it serves, an exception to fail."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.calls = 0

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        self.calls += 1
        if isinstance(self.value, Exception):
            raise self.value
        return {"SecretString": self.value}


def key(fake: Fake, **kwargs: Any) -> SecretsManagerKey:
    return SecretsManagerKey("s", check=check, client=fake, **kwargs)  # type: ignore[arg-type]


def test_fetched_on_first_use_only_from_a_real_secret() -> None:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name="app/key", SecretString=json.dumps({"signature": KEY}))
        source = SecretsManagerKey("app/key", check=check, json_key="signature", client=client)
        assert source.get() == KEY.encode()
        client.create_secret(Name="app/binary", SecretBinary=KEY.encode())
        assert SecretsManagerKey("app/binary", check=check, client=client).get() == KEY.encode()


def test_no_fetch_before_get_and_one_fetch_after() -> None:
    fake = Fake(KEY)
    source = key(fake)
    assert fake.calls == 0
    assert source.get() == source.get() == KEY.encode()
    assert fake.calls == 1


def test_refresh_at_most_once_per_cooldown_and_failures_keep_the_key() -> None:
    fake = Fake(KEY)
    source = key(fake, cooldown=60)
    source.get()
    fake.value = "b" * 40
    assert source.refresh() is None  # within the cooldown
    source._fetched_at -= 61
    assert source.refresh() == b"b" * 40
    fake.value = OSError("down")
    source._fetched_at -= 61
    assert source.refresh() is None
    assert source.get() == b"b" * 40  # the failed refresh kept the loaded key
    assert fake.calls == 3


@pytest.mark.parametrize(
    ("served", "error"),
    [(OSError("down"), KeySourceError), ("short", ConfigurationError)],
)
def test_a_failing_first_fetch_is_retried_at_most_once_a_second(
    served: Any, error: type[Exception]
) -> None:
    fake = Fake(served)
    source = key(fake, name="the test key")
    with pytest.raises(error) as first:
        source.get()
    assert "down" not in str(first.value)  # no internals of the failure
    for _ in range(10):
        with pytest.raises((KeySourceError, ConfigurationError)):
            source.get()
    assert fake.calls == 1
    fake.value = KEY
    source._retry_at -= 2
    assert source.get() == KEY.encode()


def test_json_key_missing_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="signature"):
        key(Fake(json.dumps({"other": KEY})), json_key="signature").get()
    with pytest.raises(ConfigurationError):
        key(Fake(json.dumps({"signature": 7})), json_key="signature").get()


def test_failures_are_logged_with_their_cause_and_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Denied(Exception):
        response = {"Error": {"Code": "AccessDeniedException"}}  # noqa: RUF012

    fake = Fake(Denied())
    with caplog.at_level("WARNING", logger="tenantkit.secrets"), pytest.raises(KeySourceError):
        key(fake, name="the test key").get()
    assert "AccessDeniedException" in caplog.text
    fake.value = KEY
    source = key(fake)
    source.get()
    fake.value = "short"
    source._fetched_at -= 61
    with caplog.at_level("WARNING", logger="tenantkit.secrets"):
        assert source.refresh() is None
    assert "too short" in caplog.text
    assert KEY not in caplog.text
