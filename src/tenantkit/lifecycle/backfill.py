"""``backfill-index``: tag items written before the enumeration index existed.

This is the one sanctioned ``Scan`` (decision 25): an explicit operator command, never on
a request path. It reads every item that has no ``tkshard`` and is tenant data (its
partition key is ``<tenant>#...`` with a valid tenant id; control-plane keys start with
``_`` and are left alone), and sets ``tkshard`` with a conditional update that writes
only if the item still exists and still has none, so a concurrent delete is never
undone and a concurrent tenantkit write is never overwritten. Running it again skips
what is tagged already, so a killed run is finished by the next. A pass that completes
leaves a marker (:mod:`tenantkit.lifecycle.control_records`) without which offboarding
and moves refuse to run.
"""

from __future__ import annotations

from typing import Any

from tenantkit._shared.clients import ClientOptions
from tenantkit._shared.dynamodb.calls import call
from tenantkit.context import validate_tenant_id
from tenantkit.dynamo.enumeration import ATTRIBUTE
from tenantkit.dynamo.keys import SEPARATOR
from tenantkit.errors import ConditionFailedError, InvalidTenantIdError
from tenantkit.lifecycle.control_records import mark_backfilled
from tenantkit.lifecycle.runs import Run, TableSpec

__all__ = ["backfill_index"]


def _tenant_of(partition: object) -> str | None:
    """The tenant of a stored partition key, or ``None`` for anything that is not one."""
    if not isinstance(partition, str) or SEPARATOR not in partition:
        return None
    try:
        return validate_tenant_id(partition.split(SEPARATOR, 1)[0])
    except InvalidTenantIdError:
        return None


def backfill_index(spec: TableSpec, run: Run) -> dict[str, Any]:
    """Set ``tkshard`` on every tenant item of ``spec``'s table that lacks it."""
    client = ClientOptions("dynamodb", client=spec.client).get()
    pk, sk = spec.partition_key, spec.sort_key
    names = {"#pk": pk, "#shard": ATTRIBUTE}
    request: dict[str, Any] = {
        "TableName": spec.name,
        "FilterExpression": "attribute_not_exists(#shard) AND NOT begins_with(#pk, :reserved)",
        "ProjectionExpression": "#pk" if sk is None else "#pk, #sk",
        "ExpressionAttributeNames": names if sk is None else {**names, "#sk": sk},
        "ExpressionAttributeValues": {":reserved": {"S": "_"}},
    }
    tagged = skipped = 0
    run.stage("items")
    while True:
        response = call(client, "scan", request)
        for key in response.get("Items", ()):
            tenant = _tenant_of(key.get(pk, {}).get("S"))
            if tenant is None:
                skipped += 1
                continue
            shard = spec.enumeration.value(tenant, spec.enumeration.shard_of(key))
            try:
                call(
                    client,
                    "update_item",
                    {
                        "TableName": spec.name,
                        "Key": key,
                        "UpdateExpression": "SET #shard = :shard",
                        "ConditionExpression": "attribute_exists(#pk) AND "
                        "attribute_not_exists(#shard)",
                        "ExpressionAttributeNames": {"#pk": pk, "#shard": ATTRIBUTE},
                        "ExpressionAttributeValues": {":shard": {"S": shard}},
                    },
                )
            except ConditionFailedError:
                continue  # deleted or tagged meanwhile
            tagged += 1
            run.advance(1)
        last = response.get("LastEvaluatedKey")
        if not last:
            break
        request["ExclusiveStartKey"] = last
    mark_backfilled(spec, tagged)
    run.summary.update(table=spec.name, tagged=tagged, skipped=skipped)
    return run.summary
