"""The table shapes tenantkit documents, created on moto for the tests that need them."""

from __future__ import annotations

from typing import Any


def create_keyed_table(client: Any, name: str) -> None:
    """pk/sk strings and no index: all the control plane's records need."""
    _create(client, name, {"pk": "S", "sk": "S"}, [])


def create_gsi1_table(
    client: Any, name: str, *, sort_type: str = "S", tenant_items: bool = False
) -> None:
    """pk/sk plus GSI1 on GSI1PK/GSI1SK, both sort keys of ``sort_type``; with
    ``tenant_items``, also the TenantItems index on ``tkshard`` that enumeration reads
    (decision 25)."""
    attributes = {"pk": "S", "sk": sort_type, "GSI1PK": "S", "GSI1SK": sort_type}
    indexes: list[dict[str, Any]] = [
        {
            "IndexName": "GSI1",
            "KeySchema": [
                {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    if tenant_items:
        attributes["tkshard"] = "S"
        indexes.append(
            {
                "IndexName": "TenantItems",
                "KeySchema": [{"AttributeName": "tkshard", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        )
    _create(client, name, attributes, indexes)


def _create(
    client: Any, name: str, attributes: dict[str, str], indexes: list[dict[str, Any]]
) -> None:
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": kind}
            for attribute, kind in attributes.items()
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
    )
