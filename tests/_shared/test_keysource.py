"""KeySource: a key loaded lazily and refreshed with care (here a Secrets Manager secret)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tenantkit._shared.keys import SecretsManagerKey
from tenantkit._shared.keysource import MIN_SECRET_BYTES, KeySource, checked_secret
from tenantkit.errors import ConfigurationError, KeySourceError

KEY = "a-key-of-at-least-thirty-two-bytes!!"


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


def key(fake: Fake, name: str = "the test key", **kwargs: Any) -> KeySource[bytes]:
    return SecretsManagerKey("s", client=fake, **kwargs).source(name)  # type: ignore[arg-type]


def test_fetched_on_first_use_only_from_a_real_secret() -> None:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name="app/key", SecretString=json.dumps({"signature": KEY}))
        source = SecretsManagerKey("app/key", json_key="signature", client=client).source("k")
        assert source.get() == KEY.encode()
        client.create_secret(Name="app/binary", SecretBinary=KEY.encode())
        assert SecretsManagerKey("app/binary", client=client).source("k").get() == KEY.encode()


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
    source._loaded_at -= 61
    assert source.refresh() == b"b" * 40
    fake.value = OSError("down")
    source._loaded_at -= 61
    assert source.refresh() is None
    assert source.get() == b"b" * 40  # the failed refresh kept the loaded key
    assert fake.calls == 3


def test_refresh_before_the_first_load_loads_nothing() -> None:
    fake = Fake(KEY)
    assert key(fake).refresh() is None
    assert fake.calls == 0


@pytest.mark.parametrize(
    ("served", "error"),
    [(OSError("down"), KeySourceError), ("short", ConfigurationError)],
)
def test_a_failing_first_fetch_is_retried_at_most_once_a_second(
    served: Any, error: type[Exception]
) -> None:
    fake = Fake(served)
    source = key(fake)
    with pytest.raises(error) as first:
        source.get()
    assert "down" not in str(first.value)  # no internals of the failure
    for _ in range(10):
        with pytest.raises(error) as again:  # the same error, without fetching again
            source.get()
        assert str(again.value) == str(first.value)
    assert fake.calls == 1
    fake.value = KEY
    source._retry_at -= 2
    assert source.get() == KEY.encode()


def test_json_key_missing_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="signature"):
        key(Fake(json.dumps({"other": KEY})), json_key="signature").get()
    with pytest.raises(ConfigurationError):
        key(Fake(json.dumps({"signature": 7})), json_key="signature").get()


def test_a_consumer_check_runs_on_every_loaded_value() -> None:
    def no_zeros(raw: bytes) -> bytes:
        if b"0" in raw:
            raise ConfigurationError("a zero")
        return raw

    fake = Fake("0" * 40)
    source = SecretsManagerKey("s", client=fake).source("k", check=no_zeros)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="a zero"):
        source.get()


def test_failures_are_logged_with_their_cause_and_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Denied(Exception):
        response = {"Error": {"Code": "AccessDeniedException"}}  # noqa: RUF012

    fake = Fake(Denied())
    with caplog.at_level("WARNING", logger="tenantkit.keys"), pytest.raises(KeySourceError):
        key(fake).get()
    assert "AccessDeniedException" in caplog.text
    fake.value = KEY
    source = key(fake)
    source.get()
    fake.value = "short"
    source._loaded_at -= 61
    with caplog.at_level("WARNING", logger="tenantkit.keys"):
        assert source.refresh() is None
    assert "shorter than 32 bytes" in caplog.text
    assert KEY not in caplog.text


def test_a_fixed_source_never_loads() -> None:
    source = KeySource.fixed(b"k" * 32)
    assert source.get() == b"k" * 32
    assert source.refresh() is None


@pytest.mark.parametrize("value", ["x" * (MIN_SECRET_BYTES - 1), b"", "é" * 15 + "x"])
def test_the_one_minimum_secret_check_counts_bytes(value: str | bytes) -> None:
    with pytest.raises(ConfigurationError, match=f"{MIN_SECRET_BYTES} bytes"):
        checked_secret(value)
    assert checked_secret("é" * 16) == ("é" * 16).encode()  # 32 bytes in 16 characters


@pytest.mark.parametrize("value", [None, 42, ["x" * 32]])
def test_a_secret_must_be_text_or_bytes(value: object) -> None:
    with pytest.raises(ConfigurationError, match="str or bytes"):
        checked_secret(value)
