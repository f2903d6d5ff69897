"""DynamoDB's grammar for table and index names, shared by writers and readers.

One grammar, so a name that ``TenantAdmin.set_placement`` stores is one that
``Placement`` will route to: a record holding a name DynamoDB refuses would turn every
request of its tenant into a 500. Table and index names follow the same rule: 3 to 255
characters of ``A-Z a-z 0-9 _ . -``.
"""

from __future__ import annotations

import re
from typing import TypeGuard

from tenantkit.errors import InvalidInputError

__all__ = ["is_dynamodb_name", "validate_table_name"]

_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}\Z", re.ASCII)


def is_dynamodb_name(name: object) -> TypeGuard[str]:
    """Whether ``name`` is a valid DynamoDB table or index name."""
    return isinstance(name, str) and _NAME.match(name) is not None


def validate_table_name(name: object) -> str:
    """``name`` if it is a DynamoDB table name, else ``InvalidInputError`` (400)."""
    if is_dynamodb_name(name):
        return name
    raise InvalidInputError("a table name is 3 to 255 characters of A-Z a-z 0-9 _ . -")
