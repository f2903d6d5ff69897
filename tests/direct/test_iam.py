"""The integration role's policy: the actions the routes call, on their tables and machines."""

from __future__ import annotations

from tenantkit.direct import integration_policy, load_spec, parse_spec

from .conftest import PARKS

TABLE_ARN = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Table}"
PARKS_TABLE = {"Ref": "ParksTable"}


def test_the_parks_routes_need_these_actions_only() -> None:
    assert integration_policy(load_spec(PARKS)) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:Query"],
                "Resource": {"Fn::Sub": [TABLE_ARN + "/index/GSI1", {"Table": PARKS_TABLE}]},
            },
            {
                "Effect": "Allow",
                "Action": ["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:DeleteItem"],
                "Resource": {"Fn::Sub": [TABLE_ARN, {"Table": PARKS_TABLE}]},
            },
            {
                "Effect": "Allow",
                "Action": ["states:StartSyncExecution"],
                "Resource": {"Ref": "UpdateParkStatus"},
            },
        ],
    }


def test_tables_named_by_the_authorizer_are_left_to_the_template() -> None:
    spec = parse_spec(
        {
            "authorizer": {"name": "A", "function": "arn:aws:lambda:us-east-1:1:function:a"},
            "tables": {"t": {"name": {"authorizer": "table"}, "partition_key": "pk"}},
            "routes": [
                {
                    "operation": "get",
                    "method": "GET",
                    "path": "/x/{id}",
                    "path_parameters": {"id": {"pattern": "^[a-z]+$", "max_length": 9}},
                    "dynamodb": {"action": "GetItem", "table": "t", "key": {"pk": "x#{id}"}},
                }
            ],
        }
    )
    assert integration_policy(spec)["Statement"] == []
