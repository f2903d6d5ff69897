"""The SAM template reader: tags, Parameters, Globals, intrinsics, unsupported constructs."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from tenantkit.errors import ConfigurationError
from tenantkit.local.template import (
    NO_VALUE,
    Attributes,
    Resolver,
    Template,
    TemplateError,
    load_template,
    parse_template,
)

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE = Path(__file__).parents[2] / "examples" / "state_parks" / "template.yaml"

HEADER = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
"""
FUNCTION = """\
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: .
"""


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def resolver(template: Template, attributes: dict[str, Attributes] | None = None) -> Resolver:
    return Resolver(
        template,
        region="us-east-1",
        account_id="123456789012",
        stack_name="stack",
        attributes=(attributes or {}).get,
    )


def test_short_tags_become_long_form_and_dates_stay_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Resources:
          Q:
            Type: AWS::SQS::Queue
            Properties:
              QueueName: !Sub "${AWS::StackName}-q"
              Tags:
                - Key: a
                  Value: !GetAtt Other.Arn
                - Key: b
                  Value: !GetAtt [Other, QueueName]
                - Key: c
                  Value: !Join [",", [!Ref AWS::Region, x]]
                - Key: d
                  Value: !If [Cond, a, b]
        """,
    )
    data = load_template(path)
    assert data["AWSTemplateFormatVersion"] == "2010-09-09"
    tags = data["Resources"]["Q"]["Properties"]["Tags"]
    assert tags[0]["Value"] == {"Fn::GetAtt": ["Other", "Arn"]}
    assert tags[1]["Value"] == {"Fn::GetAtt": ["Other", "QueueName"]}
    assert tags[2]["Value"] == {"Fn::Join": [",", [{"Ref": "AWS::Region"}, "x"]]}
    assert tags[3]["Value"] == {"Fn::If": ["Cond", "a", "b"]}


def test_parameters_defaults_overrides_and_lists(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Parameters:
          Name: {Type: String, Default: alpha}
          Flag: {Type: String, Default: false, AllowedValues: ["true", "false"]}
          Size: {Type: Number, Default: 3, MinValue: 1, MaxValue: 5}
          Hosts: {Type: CommaDelimitedList, Default: "a, b"}
        Resources:
          T:
            Type: AWS::SNS::Topic
        """,
    )
    template = parse_template(path, {"Name": "beta"})
    assert template.parameters == {
        "Name": "beta",
        "Flag": "false",
        "Size": "3",
        "Hosts": ["a", "b"],
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"Flag": "maybe"}, "Parameters.Flag: value is not one of AllowedValues"),
        ({"Size": "9"}, "Parameters.Size: value is above MaxValue"),
        ({"Size": "x"}, "Parameters.Size: Number parameter needs a number"),
        ({"Secret": "short"}, "Parameters.Secret: value is shorter than MinLength"),
        ({"Nope": "1"}, "--parameter-overrides names Nope"),
        ({}, "Parameters.Secret: no Default; pass --parameter-overrides Secret=VALUE"),
    ],
)
def test_parameter_constraints(tmp_path: Path, overrides: dict[str, str], message: str) -> None:
    path = write(
        tmp_path,
        """\
        Parameters:
          Flag: {Type: String, Default: "false", AllowedValues: ["true", "false"]}
          Size: {Type: Number, Default: 3, MaxValue: 5}
          Secret: {Type: String, MinLength: 8, AllowedPattern: "[a-z]+"}
        Resources:
          T:
            Type: AWS::SNS::Topic
        """,
    )
    overrides = {"Secret": "longenough", **overrides} if "Secret" not in overrides else overrides
    if message.startswith("Parameters.Secret: no Default"):
        overrides.pop("Secret")
    with pytest.raises(TemplateError, match=message.replace("$", r"\$")):
        parse_template(path, overrides)


def test_globals_merge_maps_append_lists_and_resource_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Globals:
          Function:
            Runtime: python3.11
            Timeout: 3
            Architectures: [x86_64]
            Environment:
              Variables: {SHARED: one, OVERRIDDEN: global}
          Api:
            Variables: {stage: global}
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              CodeUri: .
              Timeout: 9
              Architectures: [arm64]
              Environment:
                Variables: {OVERRIDDEN: local, OWN: mine}
              Events:
                Implicit:
                  Type: Api
                  Properties: {Path: /x, Method: get}
        """,
    )
    template = parse_template(path)
    props = template.resources["Fn"].properties
    assert props["Runtime"] == "python3.11"
    assert props["Timeout"] == 9
    assert props["Architectures"] == ["x86_64", "arm64"]
    assert props["Environment"]["Variables"] == {
        "SHARED": "one",
        "OVERRIDDEN": "local",
        "OWN": "mine",
    }
    implicit = template.resources["ServerlessRestApi"]
    assert implicit.type == "AWS::Serverless::Api"
    assert implicit.properties == {"Variables": {"stage": "global"}, "StageName": "Prod"}


def test_resolver_intrinsics(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Parameters:
          Env: {Type: String, Default: dev}
        Resources:
          Q:
            Type: AWS::SQS::Queue
          Topic:
            Type: AWS::SNS::Topic
            Properties:
              TopicName: !Sub "${AWS::StackName}-${Env}-${Q.QueueName}-${!Literal}"
              DisplayName: !Sub
                - "${Name} in ${AWS::Region}"
                - Name: !Ref Env
              Tags:
                - Key: joined
                  Value: !Join ["/", [!Ref Q, !GetAtt Q.Arn, !Ref AWS::AccountId]]
                - !Ref AWS::NoValue
              FifoTopic: !Ref AWS::NoValue
        """,
    )
    template = parse_template(path)
    queue = Attributes("https://q.url", {"Arn": "arn:q", "QueueName": "qname", "QueueUrl": "u"})
    resolved = resolver(template, {"Q": queue}).resolve(
        template.resources["Topic"].properties, "Resources.Topic.Properties"
    )
    assert resolved == {
        "TopicName": "stack-dev-qname-${Literal}",
        "DisplayName": "dev in us-east-1",
        "Tags": [{"Key": "joined", "Value": "https://q.url/arn:q/123456789012"}],
    }


def test_resolver_reports_what_does_not_exist_yet(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Resources:
          Q:
            Type: AWS::SQS::Queue
          T:
            Type: AWS::SNS::Topic
            Properties:
              TopicName: !GetAtt Q.QueueName
        """,
    )
    template = parse_template(path)
    with pytest.raises(TemplateError, match=r"T\.Properties\.TopicName: Q is referenced"):
        resolver(template).resolve(template.resources["T"].properties, "Resources.T.Properties")
    assert resolver(template).resolve({"Ref": "AWS::NoValue"}, "x") is NO_VALUE


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "Conditions:\n  C: !Equals [a, b]\nResources:\n  T: {Type: AWS::SNS::Topic}\n",
            "top-level section 'Conditions' is not supported",
        ),
        (
            "Resources:\n  B:\n    Type: AWS::S3::Bucket\n",
            "Resources.B: resource type AWS::S3::Bucket is not supported",
        ),
        (
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n"
            "      Subscription: []\n",
            "Resources.T.Properties.Subscription: property not supported on AWS::SNS::Topic",
        ),
        (
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Condition: C\n",
            "Resources.T.Condition: resource attribute not supported",
        ),
        (
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n"
            "      TopicName: !Select [0, [a]]\n",
            "Resources.T.Properties.TopicName: intrinsic function Fn::Select is not supported",
        ),
        (
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n"
            "      TopicName: !Ref Missing\n",
            "Resources.T.Properties.TopicName: Ref to unknown parameter or resource 'Missing'",
        ),
        (
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n"
            "      TopicName: !GetAtt T.StreamArn\n",
            "Fn::GetAtt T.StreamArn is not supported for AWS::SNS::Topic",
        ),
        (
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n"
            "      TopicName: !Sub '${Nope}'\n",
            r"Fn::Sub names unknown variable \$\{Nope\}",
        ),
        (
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    DependsOn: Ghost\n",
            "Resources.T.DependsOn: no resource named 'Ghost'",
        ),
        (
            "Globals:\n  HttpApi: {}\nResources:\n  T: {Type: AWS::SNS::Topic}\n",
            "Globals.HttpApi: not supported",
        ),
        (
            "Transform: AWS::Include\nResources:\n  T: {Type: AWS::SNS::Topic}\n",
            "Transform: only AWS::Serverless-2016-10-31 is supported",
        ),
        (
            f"Resources:\n{FUNCTION}      Layers: [arn]\n",
            "Resources.Fn.Properties.Layers: property not supported",
        ),
        (
            f"Resources:\n{FUNCTION.replace('python3.12', 'nodejs20.x')}",
            "Resources.Fn.Properties.Runtime: only python3.x runtimes run locally",
        ),
        (
            f"Resources:\n{FUNCTION}      Events:\n        Tick:\n          Type: Schedule\n",
            "Resources.Fn.Properties.Events.Tick.Type: event type Schedule is not supported",
        ),
        (
            f"Resources:\n{FUNCTION}      Events:\n        E:\n          Type: Api\n"
            "          Properties: {Path: /x, Method: get, RequestModel: {}}\n",
            "Resources.Fn.Properties.Events.E.Properties.RequestModel: Api event property",
        ),
        (
            "Resources:\n  A:\n    Type: AWS::Serverless::Api\n    Properties:\n"
            "      StageName: v1\n      Cors: '*'\n",
            "Resources.A.Properties.Cors: property not supported",
        ),
        (
            "Resources:\n  A:\n    Type: AWS::Serverless::Api\n    Properties:\n"
            "      StageName: v1\n      Auth:\n        Authorizers:\n          C:\n"
            "            UserPoolArn: arn\n",
            "Resources.A.Properties.Auth.Authorizers.C.UserPoolArn: authorizer property",
        ),
        (
            "Resources:\n  A:\n    Type: AWS::Serverless::Api\n    Properties:\n"
            "      StageName: v1\n      Auth:\n        DefaultAuthorizer: Missing\n",
            "Resources.A.Properties.Auth.DefaultAuthorizer: no authorizer named 'Missing'",
        ),
    ],
)
def test_unsupported_constructs_fail_naming_their_location(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "template.yaml"
    text = body if body.startswith("Transform") else HEADER + body
    path.write_text(text)
    with pytest.raises(TemplateError, match=message) as caught:
        parse_template(path)
    assert isinstance(caught.value, ConfigurationError)


def test_inert_properties_are_accepted(tmp_path: Path) -> None:
    extra = "      Tracing: Active\n      Policies: [AWSLambdaBasicExecutionRole]\n"
    path = tmp_path / "template.yaml"
    path.write_text(f"{HEADER}Resources:\n{FUNCTION}{extra}")
    assert parse_template(path).resources["Fn"].properties["Tracing"] == "Active"


def test_the_fixture_template_parses() -> None:
    template = parse_template(FIXTURES / "template.yaml")
    assert set(template.resources) >= {"Api", "AppFunction", "WorkQueue", "Secret"}


def test_the_example_template_parses() -> None:
    overrides: dict[str, Any] = {"JwtSecret": "x" * 40}
    template = parse_template(EXAMPLE, overrides)
    assert template.of_type("AWS::Serverless::Api")


def test_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        HEADER
        + "Globals:\n  Function:\n    Runtime: nodejs20.x\n"  # lines 3-5
        + "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"  # lines 6-8
        + "  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"  # lines 9-11
        + "      Handler: app.handler\n      CodeUri: .\n      Layers: [arn]\n"  # 12-14
    )
    with pytest.raises(TemplateError) as caught:
        parse_template(path)
    assert str(caught.value).startswith(f"{path}:14: Resources.Fn.Properties.Layers:")
    path.write_text(path.read_text().replace("      Layers: [arn]\n", ""))
    with pytest.raises(TemplateError) as caught:
        parse_template(path)
    # Runtime comes from Globals: the function's Properties line is the nearest one.
    assert str(caught.value).startswith(f"{path}:11: Resources.Fn.Properties.Runtime:")
