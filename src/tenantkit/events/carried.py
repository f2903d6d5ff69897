"""A tenant envelope carried inside a JSON object: EventBridge details, Lambda payloads.

SQS bodies are strings, so an envelope is the body itself. An EventBridge ``Detail`` and
a Lambda ``Invoke`` payload are JSON *objects* that the service parses and encodes
again, so numbers, key order and escapes may change on the way, and the MAC, which
covers one exact encoding, would no longer verify. A string survives byte for byte, so
the sealed envelope travels as a string inside the object::

    {"tenantId": "texas", "envelope": "{\\"v\\":2,\\"env\\":{...},\\"sig\\":\\"...\\"}"}

``tenantId`` is there for EventBridge rule patterns and for logs only. It is never
trusted: opening refuses an object whose ``tenantId`` differs from the envelope's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tenantkit.context import current_tenant
from tenantkit.errors import EnvelopeError

if TYPE_CHECKING:
    from tenantkit.events.envelope import EnvelopeSigner, OpenedEnvelope

__all__ = ["ENVELOPE_FIELD", "carry", "is_carried", "open_carried"]

#: The field holding the sealed envelope string.
ENVELOPE_FIELD = "envelope"
_TENANT_FIELD = "tenantId"


def carry(signer: EnvelopeSigner, payload: object, *, purpose: str) -> dict[str, str]:
    """``payload`` sealed for ``purpose`` under ``current_tenant()`` (``NoTenantContextError``
    outside a scope), as the object an EventBridge detail or a Lambda payload carries."""
    tenant_id = current_tenant().tenant_id
    return {_TENANT_FIELD: tenant_id, ENVELOPE_FIELD: signer.seal(payload, purpose=purpose)}


def is_carried(document: object) -> bool:
    """True when ``document`` claims to carry an envelope (it is not verified yet)."""
    return isinstance(document, Mapping) and ENVELOPE_FIELD in document


def open_carried(signer: EnvelopeSigner, document: object, *, purpose: str) -> OpenedEnvelope:
    """Verify the envelope ``document`` carries, sealed for ``purpose``; ``EnvelopeError``
    says why it is refused.

    Exactly the two fields are allowed: anything next to the envelope would be unsigned
    data a handler might read by mistake.
    """
    if not isinstance(document, Mapping) or set(document) != {_TENANT_FIELD, ENVELOPE_FIELD}:
        raise EnvelopeError(
            f"expected an object of exactly {_TENANT_FIELD!r} and {ENVELOPE_FIELD!r} "
            "(a tenant envelope sealed by tenantkit)"
        )
    opened = signer.open_envelope(document[ENVELOPE_FIELD], purpose=purpose)
    if document[_TENANT_FIELD] != opened.context.tenant_id:
        raise EnvelopeError(f"the {_TENANT_FIELD} next to the envelope differs from the envelope's")
    return opened
