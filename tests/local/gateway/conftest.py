"""Helpers for gateway tests whose stack is an API with one Lambda authorizer."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tenantkit.local.gateway import Gateway
from tests.local.conftest import gateway_on

_AUTHORIZED_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Auth:
        DefaultAuthorizer: Tok
        Authorizers:
          Tok:
            FunctionArn: !GetAtt Auth.Arn
            Identity: {identity}
  Auth:
    Type: AWS::Serverless::Function
    Properties: {{Handler: {auth}.handler, Runtime: python3.12, CodeUri: .}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {app}.handler
      Runtime: python3.12
      CodeUri: .
      Events:
{events}"""

#: A function that answers 200 with the API resource that reached it.
RESOURCE_APP = (
    "import json\n\n\ndef handler(event, context):\n"
    "    return {'statusCode': 200, 'body': json.dumps(event['resource'])}\n"
)


def authorized_template(
    auth: str, app: str, events: str, identity: str = "{Header: X-Token, ReauthorizeEvery: 0}"
) -> str:
    """A SAM template: function ``app`` behind the API's default authorizer ``auth``
    (module names), reached by ``events`` (the ``Events`` map's YAML)."""
    return _AUTHORIZED_TEMPLATE.format(
        identity=identity, auth=auth, app=app, events=textwrap.indent(events, " " * 8)
    )


@contextmanager
def gateway_of(directory: Path, template: str, modules: Mapping[str, str]) -> Iterator[Gateway]:
    """The gateway of ``template`` with its handler ``modules`` (name to source) written
    beside it in ``directory``, loaded, for the block."""
    (directory / "template.yaml").write_text(template)
    for name, source in modules.items():
        (directory / f"{name}.py").write_text(source)
    with gateway_on(directory / "template.yaml") as gateway:
        yield gateway
