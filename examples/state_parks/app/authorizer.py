"""The API's Lambda REQUEST authorizer: tenantkit's ``LambdaAuthorizer``, configured here.

It verifies the HS256 token (algorithm, signature, expiry, issuer, audience), reads the
caller's record with one ``GetItem``, and answers with a policy compiled from
``roles.json`` for the active tenant's roles, plus a flat context (``userId``,
``tenantId``, ``roles`` ...) that the handlers read. The tenant comes from the table only.

A caller with no user record yet gets their names from the verified token's claims,
so the users API can create their record from them on the first call.
"""

from __future__ import annotations

from typing import Any

import config

# Verified claim -> authorizer context key; values are plain strings, kept short.
PROFILE_CLAIMS = {"email": "email", "given_name": "firstName", "family_name": "lastName"}
MAX_PROFILE_CHARS = 256


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    result = config.authorizer()(event, context)
    response_context = result.setdefault("context", {})
    if not any(key in response_context for key in PROFILE_CLAIMS.values()):
        from tenantkit.auth.authorizer import authorization_value
        from tenantkit.errors import UnauthorizedError

        try:
            # Verified a moment ago, so this is a cache hit, not a second verification.
            claims = config.token_verifier().verify(authorization_value(event)).claims
        except UnauthorizedError:
            return result  # the names are a convenience; the decision above stands
        for claim, key in PROFILE_CLAIMS.items():
            value = claims.get(claim)
            if isinstance(value, str) and 0 < len(value) <= MAX_PROFILE_CHARS:
                response_context[key] = value
    return result
