"""What ``TokenVerifier.cognito`` and ``TokenVerifier.oidc`` configure, as keyword arguments.

Both key their verifier with a ``Jwks``: the pool's ``/.well-known/jwks.json`` for
Cognito; for OIDC, the given ``jwks_url`` or the one named by the issuer's discovery
document.

Amazon Cognito issues two kinds of token, both RS256 and keyed from the pool's JWKS:

* id tokens: ``token_use: "id"``, the app client id in ``aud``;
* access tokens: ``token_use: "access"``, the app client id in ``client_id``, no ``aud``.

So an access-token verifier cannot check ``aud``: it names the audience opt-out and
requires ``client_id`` instead, which is why the opt-out exists at all. A verifier for one
kind refuses the other, and tokens of other app clients and other pools.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any

from tenantkit._shared.keys import Jwks, JwksFetcher, require_https
from tenantkit.auth.claims import ANY_AUDIENCE
from tenantkit.errors import ConfigurationError

__all__ = ["cognito_issuer", "cognito_settings", "oidc_settings"]

_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}"
_POOL_ID = re.compile(rf"(?P<region>{_REGION})_[0-9A-Za-z]{{1,55}}")


def cognito_issuer(user_pool_id: str, region: str) -> str:
    """The ``iss`` of a user pool's tokens; the pool id must belong to ``region``."""
    if not isinstance(region, str) or re.fullmatch(_REGION, region) is None:
        raise ConfigurationError("region must be an AWS region name such as 'us-east-1'")
    match = _POOL_ID.fullmatch(user_pool_id) if isinstance(user_pool_id, str) else None
    if match is None:
        raise ConfigurationError("user_pool_id must look like '<region>_<id>', e.g. us-east-1_Ab12")
    if match["region"] != region:
        raise ConfigurationError(f"user pool {user_pool_id!r} is not in region {region!r}")
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def cognito_settings(
    user_pool_id: str,
    *,
    region: str,
    client_ids: str | Collection[str],
    token_use: str,
    jwks_fetcher: JwksFetcher | None,
    jwks_cooldown: float,
) -> dict[str, Any]:
    issuer = cognito_issuer(user_pool_id, region)
    if token_use not in ("access", "id"):
        raise ConfigurationError("token_use must be 'access' or 'id'")
    if isinstance(client_ids, str):
        client_ids = [client_ids]
    if not client_ids or not all(isinstance(c, str) and c.strip() == c != "" for c in client_ids):
        raise ConfigurationError("client_ids must name at least one app client id")
    settings: dict[str, Any] = {
        "algorithm": "RS256",
        "issuer": issuer,
        "keys": Jwks(
            f"{issuer}/.well-known/jwks.json", fetcher=jwks_fetcher, cooldown=jwks_cooldown
        ),
    }
    if token_use == "access":  # noqa: S105 - a claim value, not a password
        settings["audience"] = ANY_AUDIENCE  # access tokens have no aud: client_id instead
        settings["required_claims"] = {"token_use": "access", "client_id": frozenset(client_ids)}
    else:
        settings["audience"] = frozenset(client_ids)
        settings["required_claims"] = {"token_use": "id"}
    return settings


def oidc_settings(
    issuer: str,
    *,
    audience: Any,
    jwks_url: str | None,
    algorithm: str | Sequence[str],
    jwks_fetcher: JwksFetcher | None,
    jwks_cooldown: float,
) -> dict[str, Any]:
    return {
        "algorithm": algorithm,
        "issuer": require_https(issuer, "issuer"),
        "audience": audience,
        "keys": (
            Jwks.from_discovery(fetcher=jwks_fetcher, cooldown=jwks_cooldown)
            if jwks_url is None
            else Jwks(jwks_url, fetcher=jwks_fetcher, cooldown=jwks_cooldown)
        ),
    }
