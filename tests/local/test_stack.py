"""The stack: functions, routes and event sources resolved against the backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantkit.local.stack_specs import Stack
from tenantkit.local.template import TemplateError
from tests.local.conftest import built_stack


def test_stack_resolves_functions_routes_and_sources(stack: Stack) -> None:
    app = stack.functions["AppFunction"]
    assert app.environment["GREETING"] == "hello"
    assert app.environment["TABLE_NAME"] == "tenantkit-local-Table"
    assert app.environment["LABEL"] == "hello-api"
    assert app.environment["DESCRIPTION"] == (
        "tenantkit-local in us-east-1 with "
        "arn:aws:dynamodb:us-east-1:123456789012:table/tenantkit-local-Table"
    )
    assert app.environment["QUEUE_URL"].endswith("/tenantkit-local-WorkQueue")
    assert app.environment["SECRET_ARN"].startswith(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:tenantkit-local-Secret-"
    )
    assert app.environment["TOPIC_ARN"].endswith(":tenantkit-local-events")
    (source,) = stack.sqs_sources
    assert (source.function, source.queue, source.batch_size) == ("WorkerFunction", "WorkQueue", 5)
    assert source.report_failures
    open_route = next(r for r in stack.routes if r.path == "/open")
    assert open_route.authorizer is None
    echo = next(r for r in stack.routes if r.path == "/echo/{name}")
    assert echo.authorizer is not None
    assert (echo.authorizer.headers, echo.authorizer.ttl) == (("Authorization",), 5)


def test_routes_claiming_the_same_request_fail_at_start(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return None\n")
    events = "\n".join(
        f"        E{i}:\n          Type: Api\n          Properties: {{Path: '{p}', Method: get}}"
        for i, p in enumerate(["/a/{x}", "/a/{y}"])
    )
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n"
        "    Type: AWS::Serverless::Function\n    Properties:\n      Handler: app.handler\n"
        f"      Runtime: python3.12\n      CodeUri: .\n      Events:\n{events}\n"
    )
    with (
        pytest.raises(TemplateError, match=r"Events.E1: GET /a/\{y\} is already served"),
        built_stack(tmp_path / "template.yaml"),
    ):
        pass


@pytest.mark.parametrize("path", ["/a/{x-y}", "/a/b,c", "/a/{rest+}/b", "/a/*", "/{a}/{a}"])
def test_paths_outside_the_shared_grammar_fail_at_start(tmp_path: Path, path: str) -> None:
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n"
        "    Type: AWS::Serverless::Function\n    Properties:\n      Handler: app.handler\n"
        "      Runtime: python3.12\n      CodeUri: .\n      Events:\n        E:\n"
        f"          Type: Api\n          Properties: {{Path: '{path}', Method: get}}\n"
    )
    with (
        pytest.raises(
            TemplateError,
            match=r"Events.E.Properties.Path: .* (is not an API|names a path parameter twice)",
        ),
        built_stack(tmp_path / "template.yaml"),
    ):
        pass


def test_a_method_outside_the_shared_grammar_fails_at_start(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n"
        "    Type: AWS::Serverless::Function\n    Properties:\n      Handler: app.handler\n"
        "      Runtime: python3.12\n      CodeUri: .\n      Events:\n        E:\n"
        "          Type: Api\n          Properties: {Path: '/a', Method: fetch}\n"
    )
    with (
        pytest.raises(TemplateError, match=r"Events.E.Properties.Path: '/a' with Method 'fetch'"),
        built_stack(tmp_path / "template.yaml"),
    ):
        pass


def _write(directory: Path, resources: str) -> Path:
    (directory / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n" + resources
    )
    return directory / "template.yaml"


_LATE_REFERENCES = """\
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !GetAtt Stage.TopicName
      Variables: {table: !Ref Table, role: !Ref ApiRole}
      DefinitionBody:
        paths:
          /start:
            post:
              x-amazon-apigateway-integration:
                type: aws
                credentials: !GetAtt ApiRole.Arn
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:states:action/StartExecution"
                requestTemplates:
                  application/json: !Sub '{"stateMachineArn": "${Machine}"}'
                responses: {default: {statusCode: "200"}}
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition: {StartAt: P, States: {P: {Type: Pass, End: true}}}
      Role: !GetAtt MachineRole.Arn
  Work:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${Table}-work"
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dead.Arn, maxReceiveCount: 2}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Dead:
    Type: AWS::SQS::Queue
  Stage:
    Type: AWS::SNS::Topic
    Properties: {TopicName: dev}
  ApiRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
  MachineRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: states-role
      Path: /service/
      AssumeRolePolicyDocument: {}
"""


def test_references_resolve_in_dependency_order_not_declaration_order(tmp_path: Path) -> None:
    """CloudFormation creates what a resource references first, wherever it is declared."""
    with built_stack(_write(tmp_path, _LATE_REFERENCES)) as stack:
        (api,) = stack.apis.values()
        assert api.stage == "dev"
        assert api.variables == {
            "table": "tenantkit-local-Table",
            "role": "tenantkit-local-ApiRole",
        }
        work = stack.attributes["Work"].atts
        assert work["QueueName"] == "tenantkit-local-Table-work"
        (route,) = stack.routes
        assert route.integration is not None
        assert "tenantkit-local-Machine" in route.integration.request_templates["application/json"]


def test_iam_roles_have_an_arn_of_their_name_and_path(tmp_path: Path) -> None:
    with built_stack(_write(tmp_path, _LATE_REFERENCES)) as stack:
        api_role, machine_role = stack.attributes["ApiRole"], stack.attributes["MachineRole"]
        assert (api_role.ref, api_role.atts["Arn"]) == (
            "tenantkit-local-ApiRole",
            "arn:aws:iam::123456789012:role/tenantkit-local-ApiRole",
        )
        assert (machine_role.ref, machine_role.atts["Arn"]) == (
            "states-role",
            "arn:aws:iam::123456789012:role/service/states-role",
        )


@pytest.mark.parametrize(
    ("resources", "cycle"),
    [
        (
            "  A:\n    Type: AWS::SQS::Queue\n    Properties:\n      RedrivePolicy:\n"
            "        {deadLetterTargetArn: !GetAtt B.Arn, maxReceiveCount: 2}\n"
            "  B:\n    Type: AWS::SQS::Queue\n    Properties:\n      RedrivePolicy:\n"
            "        {deadLetterTargetArn: !GetAtt A.Arn, maxReceiveCount: 2}\n",
            "A -> B -> A",
        ),
        (
            "  T:\n    Type: AWS::SNS::Topic\n    DependsOn: R\n"
            "  R:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: !GetAtt T.TopicName\n"
            "      AssumeRolePolicyDocument: {}\n",
            "T -> R -> T",
        ),
    ],
)
def test_only_a_real_cycle_is_refused(tmp_path: Path, resources: str, cycle: str) -> None:
    with (
        pytest.raises(TemplateError, match=f"circular reference {cycle}"),
        built_stack(_write(tmp_path, resources)),
    ):
        pass
