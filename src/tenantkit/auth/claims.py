"""The claims a verified token must carry, and the named opt-outs from them.

``exp`` (a finite number) and the subject are required; a future ``nbf`` or ``iat`` is
refused; ``leeway`` applies to all three. ``iss`` must equal the issuer, and ``aud`` must
be (or, as a list, contain) one of the audiences, unless the verifier was built with
:data:`ANY_ISSUER` or :data:`ANY_AUDIENCE`: opting out must be spelled out, never
reached by leaving an argument as ``None``. ``required_claims`` pins other claims to
string values, which is how Cognito access tokens (``client_id``, ``token_use``), Okta
(``cid``) and Entra ID (``tid``) are checked.

Times are numbers only: a validly signed ``"exp": "99999999999"`` or ``"exp": true`` is
refused, where ``int()`` would accept it.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, TypeGuard

from tenantkit.errors import ConfigurationError, UnauthorizedError

__all__ = [
    "ANY_AUDIENCE",
    "ANY_ISSUER",
    "MAX_LEEWAY",
    "AnyAudience",
    "AnyIssuer",
    "ClaimRules",
    "VerifiedToken",
]

MAX_LEEWAY = 300
MAX_SUBJECT_CHARS = 512


class AnyIssuer(enum.Enum):
    """The type of :data:`ANY_ISSUER`."""

    ANY_ISSUER = "ANY_ISSUER"


class AnyAudience(enum.Enum):
    """The type of :data:`ANY_AUDIENCE`."""

    ANY_AUDIENCE = "ANY_AUDIENCE"


ANY_ISSUER: Final = AnyIssuer.ANY_ISSUER
"""``issuer=ANY_ISSUER``: accept any ``iss``, trusting the key alone. An explicit opt-out."""
ANY_AUDIENCE: Final = AnyAudience.ANY_AUDIENCE
"""``audience=ANY_AUDIENCE``: accept tokens meant for any audience. An explicit opt-out."""


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token whose signature and claims were checked. ``claims`` is read-only."""

    subject: str
    claims: Mapping[str, Any]
    expires_at: float


def _claim_at(claims: Mapping[str, Any], dotted: str) -> Any:
    value: Any = claims
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _is_number(value: object) -> TypeGuard[int | float]:
    """A finite JSON number: ``1e400`` parses as infinity, which would never expire."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def accepted_values(value: object, name: str) -> frozenset[str]:
    """One non-empty string, or a non-empty collection of them, as a set."""
    values = (value,) if isinstance(value, str) else value
    if (
        not isinstance(values, Collection)
        or isinstance(values, Mapping)
        or not values
        or not all(isinstance(item, str) and item for item in values)
    ):
        raise ConfigurationError(f"{name} must be a non-empty string or a collection of them")
    return frozenset(values)


class ClaimRules:
    """Checks a signed token's claims; built once per verifier, immutable."""

    def __init__(
        self,
        *,
        issuer: str | AnyIssuer,
        audience: str | Collection[str] | AnyAudience,
        required_claims: Mapping[str, str | Collection[str]] | None,
        subject_claim: str,
        leeway: float,
    ) -> None:
        if issuer is ANY_ISSUER:
            self.issuer: str | None = None
        elif isinstance(issuer, str) and issuer:
            self.issuer = issuer
        else:
            raise ConfigurationError(
                "issuer= must be the exact iss of your tokens; to accept any issuer on "
                "purpose, pass issuer=ANY_ISSUER (None is not an opt-out)"
            )
        if audience is ANY_AUDIENCE:
            self._audiences: frozenset[str] | None = None
        elif audience is None:
            raise ConfigurationError(
                "audience= must be the aud your tokens carry; to accept any audience on "
                "purpose, pass audience=ANY_AUDIENCE (None is not an opt-out)"
            )
        else:
            self._audiences = accepted_values(audience, "audience")
        required = dict(required_claims or {})
        if not all(isinstance(name, str) and name for name in required):
            raise ConfigurationError("required_claims must map claim names to values")
        self._required = tuple(
            (name, accepted_values(values, f"required_claims[{name!r}]"))
            for name, values in required.items()
        )
        if not subject_claim or any(not part for part in subject_claim.split(".")):
            raise ConfigurationError("subject_claim must be a claim name or dotted path")
        if not 0 <= leeway <= MAX_LEEWAY:
            raise ConfigurationError(f"leeway must be between 0 and {MAX_LEEWAY} seconds")
        self._subject_path = subject_claim
        self._leeway = float(leeway)

    def check(self, claims: dict[str, Any], now: float) -> VerifiedToken:
        """The verified token, or ``UnauthorizedError`` naming the first claim at fault."""
        exp = claims.get("exp")
        if not _is_number(exp) or exp + self._leeway <= now:
            raise UnauthorizedError("the token has expired; sign in again")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if value is not None and (not _is_number(value) or value > now + self._leeway):
                raise UnauthorizedError("the token is not valid yet; check the issuer's clock")
        if self.issuer is not None and claims.get("iss") != self.issuer:
            raise UnauthorizedError("the token was issued by someone else")
        if self._audiences is not None:
            aud = claims.get("aud")
            listed = aud if isinstance(aud, list) else [aud]
            if not any(isinstance(item, str) and item in self._audiences for item in listed):
                raise UnauthorizedError("the token is meant for another audience")
        for name, accepted in self._required:
            value = claims.get(name)
            if not isinstance(value, str) or value not in accepted:
                raise UnauthorizedError(f"the token's {name} is not one this API accepts")
        subject = _claim_at(claims, self._subject_path)
        if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_CHARS:
            raise UnauthorizedError("the token has no subject")
        return VerifiedToken(
            subject=subject, claims=MappingProxyType(claims), expires_at=float(exp)
        )
