"""The integration role's policy: exactly the actions a spec's ``aws`` integrations call.

API Gateway calls DynamoDB and Step Functions as the role in ``credentials``; it should be
able to do what the routes do and nothing more, and it should be the only principal that
may start the state machines those routes start (decision 2: the machines trust the
``tenantId`` of their input because of it). Tables named by the authorizer (silo
placement) are not known at build time: grant them in the template yourself.
"""

from __future__ import annotations

from typing import Any

from tenantkit.direct.spec import DeleteItem, GetItem, PutItem, Query, Spec, Table, UpdateItem

__all__ = ["integration_policy"]

_DYNAMODB_ACTIONS = {
    GetItem: "dynamodb:GetItem",
    Query: "dynamodb:Query",
    PutItem: "dynamodb:UpdateItem",  # rendered as a conditional UpdateItem
    UpdateItem: "dynamodb:UpdateItem",
    DeleteItem: "dynamodb:DeleteItem",
}
_TABLE_ARN = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Table}"


def integration_policy(spec: Spec) -> dict[str, Any]:
    """An IAM policy document (CloudFormation intrinsics inside) for the integration role."""
    statements: dict[tuple[str, str], dict[str, Any]] = {}

    def grant(key: tuple[str, str], action: str, resource: Any) -> None:
        statement = statements.setdefault(
            key, {"Effect": "Allow", "Action": [], "Resource": resource}
        )
        if action not in statement["Action"]:
            statement["Action"].append(action)

    for route in spec.routes:
        if route.dynamodb is not None:
            table = spec.tables[route.dynamodb.table]
            if table.name == {"authorizer": "table"}:
                continue
            index = route.dynamodb.index if isinstance(route.dynamodb, Query) else None
            resource = _table_arn(table, index)
            grant(
                (route.dynamodb.table, index or ""),
                _DYNAMODB_ACTIONS[type(route.dynamodb)],
                resource,
            )
        elif route.stepfunctions is not None:
            machine = route.stepfunctions.state_machine
            grant(("states", repr(machine)), f"states:{route.stepfunctions.action}", machine)
    return {"Version": "2012-10-17", "Statement": list(statements.values())}


def _table_arn(table: Table, index: str | None) -> Any:
    suffix = "" if index is None else f"/index/{index}"
    return {"Fn::Sub": [_TABLE_ARN + suffix, {"Table": table.name}]}
