"""A key kept in AWS Secrets Manager: fetched on first use, refreshed after rotation.

``TokenVerifier`` (HMAC signing secret) and ``EnvelopeSigner`` (envelope key) share
these rules:

* nothing is fetched at construction or import: the first ``get()`` fetches;
* ``refresh()``, called after a signature did not verify, fetches again at most once
  per ``cooldown``, so a rotated secret is picked up without hammering the service;
  a failed refresh keeps the value already loaded;
* while the first fetch fails, it is retried at most once a second and each call in
  between raises ``KeySourceError`` (a server-side failure: 503, never 401);
* a secret that is there but unusable (not JSON with ``json_key``, too short) is a
  ``ConfigurationError``, also retried at most once a second.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tenantkit.errors import ConfigurationError, KeySourceError, aws_error_code

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["SecretsManagerKey"]

RETRY_SECONDS = 1.0

logger = logging.getLogger("tenantkit.secrets")


def _reason(error: Exception) -> str:
    """What went wrong, safe to log: an AWS error code or tenantkit's own message."""
    if isinstance(error, ConfigurationError):
        return str(error)
    return aws_error_code(error) or type(error).__name__


class SecretsManagerKey:
    """The bytes of one Secrets Manager secret, loaded lazily and refreshed with care.

    ``json_key`` reads one string field of a JSON secret (``{"signature": "..."}``);
    ``None`` takes the whole ``SecretString`` (or ``SecretBinary``). ``check`` turns
    the value into key bytes and raises ``ConfigurationError`` for an unusable one.
    """

    def __init__(
        self,
        secret_id: str,
        *,
        check: Callable[[str | bytes], bytes],
        json_key: str | None = None,
        client: SecretsManagerClient | None = None,
        cooldown: float = 60.0,
        name: str = "the secret",
    ) -> None:
        if not secret_id:
            raise ConfigurationError("secret_id must name a Secrets Manager secret")
        self.secret_id = secret_id
        self._check = check
        self._json_key = json_key
        self._client = client
        self._cooldown = cooldown
        self._name = name
        self._value: bytes | None = None
        self._fetched_at = float("-inf")
        self._retry_at = float("-inf")
        self._lock = threading.Lock()

    def get(self) -> bytes:
        """The key; the first call fetches it."""
        value = self._value
        if value is not None:
            return value
        with self._lock:
            if self._value is None:
                self._value = self._fetch_first()
            return self._value

    def refresh(self) -> bytes | None:
        """Fetch again if the cooldown has passed; the new key, or ``None`` if not fetched."""
        with self._lock:
            now = time.monotonic()
            if self._value is None or now - self._fetched_at < self._cooldown:
                return None
            self._fetched_at = now
            try:
                self._value = self._load()
            except Exception as error:
                logger.warning(
                    "%s could not be refreshed (%s); keeping the one loaded before",
                    self._name,
                    _reason(error),
                )
                return None
            return self._value

    def _fetch_first(self) -> bytes:
        now = time.monotonic()
        if now < self._retry_at:
            raise KeySourceError(f"{self._name} could not be loaded a moment ago; retrying shortly")
        self._fetched_at = now
        try:
            return self._load()
        except ConfigurationError as error:
            self._retry_at = now + RETRY_SECONDS
            logger.error("%s is unusable: %s", self._name, error)
            raise
        except Exception as error:
            self._retry_at = now + RETRY_SECONDS
            logger.error("%s could not be fetched (%s)", self._name, _reason(error))
            raise KeySourceError(
                f"{self._name} could not be fetched from Secrets Manager; check the function's "
                "permission to read it and the secret id"
            ) from None

    def _load(self) -> bytes:
        if self._client is None:
            import boto3

            self._client = boto3.client("secretsmanager")
        response = self._client.get_secret_value(SecretId=self.secret_id)
        value: str | bytes | None = response.get("SecretString")
        if value is None:
            value = response.get("SecretBinary")
        if value is None:
            raise ConfigurationError(f"{self._name} in Secrets Manager is empty")
        if self._json_key is not None:
            try:
                value = json.loads(value)[self._json_key]
            except (ValueError, KeyError, TypeError):
                raise ConfigurationError(
                    f"{self._name} in Secrets Manager is not a JSON object with the key "
                    f"{self._json_key!r}; store it as {{{self._json_key!r}: ...}}"
                ) from None
            if not isinstance(value, str):
                raise ConfigurationError(f"{self._name}'s {self._json_key!r} is not a string")
        return self._check(value)
