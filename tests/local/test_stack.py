"""The stack: functions, routes and event sources resolved against the backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantkit.local.stack import Stack
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
