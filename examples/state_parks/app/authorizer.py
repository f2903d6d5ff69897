"""The API's Lambda REQUEST authorizer: tenantkit's ``LambdaAuthorizer``, configured here.

It verifies the HS256 token (algorithm, signature, expiry, issuer, audience), reads the
caller's record with one ``GetItem``, and answers with a policy compiled from
``roles.json`` for the active tenant's roles, plus a flat context (``userId``,
``tenantId``, ``roles`` ...) that the handlers read. The tenant comes from the table only.
A caller with no user record yet gets their names from the verified token, so the users
API can create their record on the first call.
"""

from __future__ import annotations

from typing import Any

import config


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return config.authorizer()(event, context)
