"""A key loaded on first use and loaded again, with care, when a signature fails.

Every key tenantkit reads from a service (a Secrets Manager secret, a JWKS) follows
these rules, here and nowhere else:

* nothing is loaded at construction or import: the first ``get()`` loads;
* ``refresh()``, called after a signature did not verify (a rotated secret, an unknown
  ``kid``), loads again at most once per ``cooldown``, so forged input cannot make it
  hammer the service; a failed refresh keeps the value loaded before;
* while the first load fails, calls within a second raise the same error again without
  loading: ``KeySourceError`` when the service could not be read (a server-side failure,
  never the caller's), ``ConfigurationError`` when what it served is unusable.

:func:`checked_secret` is the one minimum-length check of every HMAC secret tenantkit
uses: token verification, envelopes and cursors.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from tenantkit.errors import ConfigurationError, KeySourceError, TenantKitError, aws_error_code

__all__ = ["MIN_SECRET_BYTES", "RETRY_SECONDS", "KeySource", "checked_secret"]

MIN_SECRET_BYTES = 32
RETRY_SECONDS = 1.0
_GENERATE = "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"

T = TypeVar("T")

logger = logging.getLogger("tenantkit.keys")


def checked_secret(value: object, name: str = "the secret") -> bytes:
    """``value`` as key bytes, if it is a str or bytes of at least ``MIN_SECRET_BYTES``."""
    if not isinstance(value, str | bytes | bytearray):
        raise ConfigurationError(f"{name} must be a str or bytes")
    raw = value.encode() if isinstance(value, str) else bytes(value)
    if len(raw) < MIN_SECRET_BYTES:
        raise ConfigurationError(f"{name} is shorter than {MIN_SECRET_BYTES} bytes; {_GENERATE}")
    return raw


def _reason(error: Exception) -> str:
    """What went wrong, safe to log and show: tenantkit's message, an AWS code or a type."""
    if isinstance(error, TenantKitError):
        return str(error)
    return aws_error_code(error) or type(error).__name__


class KeySource(Generic[T]):
    """A value that ``load`` produces, loaded lazily and refreshed under the rules above.

    ``load`` raises ``ConfigurationError`` for an unusable value, ``KeySourceError`` with
    its own message, or anything else when the service could not be read; ``name`` and
    ``hint`` make the message of the latter. Thread-safe.
    """

    __slots__ = (
        "_cooldown",
        "_failure",
        "_hint",
        "_load",
        "_loaded",
        "_loaded_at",
        "_lock",
        "_name",
        "_retry_at",
        "_value",
    )

    def __init__(
        self,
        load: Callable[[], T],
        *,
        name: str,
        hint: str,
        cooldown: float = 60.0,
    ) -> None:
        self._load: Callable[[], T] | None = load
        self._name = name
        self._hint = hint
        self._cooldown = float(cooldown)
        self._value: T | None = None
        self._loaded = False
        self._loaded_at = float("-inf")
        self._retry_at = float("-inf")
        self._failure: ConfigurationError | KeySourceError = KeySourceError("")
        self._lock = threading.Lock()

    @classmethod
    def fixed(cls, value: T) -> KeySource[T]:
        """A source that already holds ``value`` and never loads (a key given directly)."""
        source = cls(lambda: value, name="", hint="", cooldown=float("inf"))
        source._load = None
        source._value, source._loaded = value, True
        return source

    def get(self) -> T:
        """The value; the first call loads it."""
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    self._load_first()
        return self._value  # type: ignore[return-value]  # loaded, so set

    def refresh(self) -> T | None:
        """Load again if the cooldown has passed: the new value, or ``None`` if not loaded."""
        if self._load is None:
            return None
        with self._lock:
            now = time.monotonic()
            if not self._loaded or now - self._loaded_at < self._cooldown:
                return None
            self._loaded_at = now
            try:
                self._value = self._load()
            except Exception as error:
                logger.warning(
                    "%s could not be loaded again (%s); keeping the one loaded before",
                    self._name,
                    _reason(error),
                )
                return None
            return self._value

    def _load_first(self) -> None:
        """Load, or raise the remembered failure within a second of it. Holds ``_lock``."""
        now = time.monotonic()
        if now < self._retry_at:
            raise type(self._failure)(str(self._failure))
        self._loaded_at = now
        assert self._load is not None  # a fixed source is loaded from the start
        try:
            self._value = self._load()
        except (ConfigurationError, KeySourceError) as error:
            self._remember(now, error)
            logger.error("%s is unusable: %s", self._name, error)
            raise
        except Exception as error:
            failure = KeySourceError(
                f"{self._name} could not be fetched ({_reason(error)}); {self._hint}"
            )
            self._remember(now, failure)
            logger.error("%s", failure)
            raise failure from None
        self._loaded = True

    def _remember(self, now: float, failure: ConfigurationError | KeySourceError) -> None:
        self._retry_at = now + RETRY_SECONDS
        self._failure = failure
