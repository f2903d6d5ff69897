"""What a local stack is once its template is resolved: the one description the gateway,
the SQS pollers and the seed loader read, so none of them reads the template again.

:func:`tenantkit.local.stack.build_stack` fills it in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantkit._shared.apigw import Route
from tenantkit.local.events import RelayTarget
from tenantkit.local.runtime.spec import FunctionSpec
from tenantkit.local.template import Attributes, Template
from tenantkit.local.template.openapi import Integration, Validation

__all__ = [
    "ApiSpec",
    "AuthorizerSpec",
    "RouteSpec",
    "SqsSourceSpec",
    "Stack",
    "code_dirs",
]


@dataclass(frozen=True)
class AuthorizerSpec:
    name: str
    function: str
    payload_type: str  # "REQUEST" or "TOKEN"
    headers: tuple[str, ...]
    query_strings: tuple[str, ...]
    ttl: int
    validation_expression: str | None = None


@dataclass(frozen=True)
class ApiSpec:
    logical_id: str
    api_id: str
    stage: str
    variables: Mapping[str, str] | None = None


@dataclass(frozen=True)
class RouteSpec:
    api: ApiSpec
    route: Route
    function: str  # the Lambda proxy's function (logical id); "" for other integrations
    authorizer: AuthorizerSpec | None
    where: str
    integration: Integration | None = None  # from a DefinitionBody; None: an Api event's
    validation: Validation | None = None

    @property
    def method(self) -> str:
        return self.route.method

    @property
    def path(self) -> str:
        return self.route.path


@dataclass(frozen=True)
class SqsSourceSpec:
    function: str
    queue: str
    queue_url: str
    queue_arn: str
    batch_size: int
    report_failures: bool
    enabled: bool
    where: str


@dataclass
class Stack:
    """Everything the gateway and the pollers need, resolved."""

    template: Template
    region: str
    account_id: str
    attributes: dict[str, Attributes] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    apis: dict[str, ApiSpec] = field(default_factory=dict)
    routes: list[RouteSpec] = field(default_factory=list)
    sqs_sources: list[SqsSourceSpec] = field(default_factory=list)
    event_relays: list[RelayTarget] = field(default_factory=list)

    def ref_values(self) -> dict[str, Any]:
        return {logical_id: attrs.ref for logical_id, attrs in self.attributes.items()}


def code_dirs(stack: Stack) -> list[Path]:
    """The distinct ``CodeUri`` directories, in template order."""
    return list(dict.fromkeys(spec.code_dir for spec in stack.functions.values()))
