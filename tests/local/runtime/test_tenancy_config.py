"""What the stack reads for the runtime: TenancyConfig, ReservedConcurrentExecutions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tenantkit.local.backend import Backend
from tenantkit.local.functions import FunctionSpec
from tenantkit.local.stack import build_stack
from tenantkit.local.template import TemplateError, parse_template

FUNCTION = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: tklocal_fn.handler
      Runtime: python3.12
      CodeUri: .
{extra}
"""


def build(tmp_path: Path, backend: Backend, extra: str) -> FunctionSpec:
    (tmp_path / "tklocal_fn.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "template.yaml").write_text(FUNCTION.format(extra=extra))
    return build_stack(parse_template(tmp_path / "template.yaml"), backend).functions["Fn"]


def test_per_tenant_and_reserved_concurrency_reach_the_spec(
    tmp_path: Path, backend: Backend
) -> None:
    extra = (
        "      TenancyConfig: {TenantIsolationMode: PER_TENANT}\n"
        "      ReservedConcurrentExecutions: 3"
    )
    spec = build(tmp_path, backend, extra)
    assert (spec.per_tenant, spec.reserved_concurrency) == (True, 3)
    spec = build(tmp_path, backend, "")
    assert (spec.per_tenant, spec.reserved_concurrency) == (False, None)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("      TenancyConfig: {TenantIsolationMode: SHARED}", "the only mode is PER_TENANT"),
        ("      TenancyConfig: PER_TENANT", "must be {TenantIsolationMode: PER_TENANT}"),
        ("      TenancyConfig: {TenantIsolationMode: PER_TENANT, X: 1}", "must be"),
        ("      ReservedConcurrentExecutions: -1", "an integer, 0 to 1000"),
        ("      ReservedConcurrentExecutions: many", "an integer, 0 to 1000"),
        ("      ReservedConcurrentExecutions: 1001", "an integer, 0 to 1000"),
        (
            "      TenancyConfig: {TenantIsolationMode: PER_TENANT}\n"
            "      Events:\n"
            "        Work: {Type: SQS, Properties: {Queue: !GetAtt TenancyQueue.Arn}}\n"
            "  TenancyQueue:\n"
            "    Type: AWS::SQS::Queue",
            "a PER_TENANT function takes no SQS event source",
        ),
    ],
)
def test_malformed_settings_fail_at_start(
    tmp_path: Path, backend: Backend, extra: str, message: str
) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        build(tmp_path, backend, extra)
