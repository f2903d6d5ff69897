"""The route spec: what a direct (functionless) API Gateway route does, declared as data.

A spec is YAML, JSON or Python objects, validated here with pydantic. Every mistake is a
``ConfigurationError`` whose message starts with where it is (``routes[2].dynamodb.key.sk``),
so a spec author never reads a pydantic traceback. Values that become part of a DynamoDB
key must carry an anchored ``pattern``: the request validator refuses them before any
template runs (decision 12), and escaping in the template is the second line.

The semantic checks (placeholders, tables, key shapes, byte budgets) live in
:mod:`tenantkit.direct.checks`; this module holds the shapes only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tenantkit._shared.dynamodb.names import is_dynamodb_name
from tenantkit.dynamo.enumeration import ATTRIBUTE, DEFAULT_SHARDS
from tenantkit.errors import ConfigurationError

__all__ = [
    "Api",
    "Authorizer",
    "DeleteItem",
    "Enumeration",
    "FieldSpec",
    "GetItem",
    "Index",
    "LambdaProxy",
    "Limit",
    "Parameter",
    "PutItem",
    "Query",
    "Returned",
    "Route",
    "Spec",
    "StepFunctions",
    "Table",
    "UpdateItem",
    "load_spec",
    "location",
    "parse_spec",
]

#: An attribute or field name: safe inside a JSON key, a VTL ``get('...')`` and a JSONPath.
NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
#: A DynamoDB attribute name a spec may use (no quotes, no ``#``/``$``, no spaces).
ATTRIBUTE_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,254}$"
_ACTIONS = frozenset(
    {"GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"}
    | {"StartExecution", "StartSyncExecution"}
)

ValueType = Literal["string", "integer", "number", "boolean"]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _is_intrinsic(value: object) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and all(isinstance(k, str) and (k == "Ref" or k.startswith("Fn::")) for k in value)
    )


def _reference(value: object) -> object:
    """An ARN or name: a non-empty string or one CloudFormation intrinsic (``Ref``/``Fn::*``)."""
    if (isinstance(value, str) and value) or _is_intrinsic(value):
        return value
    raise ValueError("must be a non-empty string or one intrinsic such as {'Ref': ...}")


#: An ARN or a name, given as text or as a CloudFormation intrinsic.
Reference = Annotated[str | dict[str, Any], BeforeValidator(_reference)]


class Api(_Model):
    title: str = "tenantkit direct API"
    version: str = "1.0.0"
    description: str | None = None


class Authorizer(_Model):
    """The Lambda authorizer in front of every route (tenantkit's ``LambdaAuthorizer``)."""

    name: str = Field(pattern=NAME)
    function: Reference
    type: Literal["request", "token"] = "request"
    identity_source: str = "method.request.header.Authorization"
    ttl: int = Field(default=300, ge=0, le=3600)
    credentials: Reference | None = None


class Index(_Model):
    partition_key: str = Field(pattern=ATTRIBUTE_NAME)
    sort_key: str | None = Field(default=None, pattern=ATTRIBUTE_NAME)


class Enumeration(_Model):
    """The ``tkshard`` attribute every write carries (decision 25)."""

    attribute: str = Field(default=ATTRIBUTE, pattern=ATTRIBUTE_NAME)
    shards: int = Field(default=DEFAULT_SHARDS, ge=1, le=256)


class Table(_Model):
    """A table as ``TenantTable`` sees it: its partition keys are stored ``<tenant>#<value>``.

    ``name`` is the table's name, an intrinsic (``{Ref: Table}``), or ``{authorizer: table}``
    for the placement the authorizer returns (decision 24).
    """

    name: str | dict[str, Any]
    partition_key: str = Field(pattern=ATTRIBUTE_NAME)
    sort_key: str | None = Field(default=None, pattern=ATTRIBUTE_NAME)
    indexes: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$")], Index] = {}
    enumeration: Enumeration | None = Enumeration()

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: object) -> object:
        if isinstance(value, str):
            if not is_dynamodb_name(value):
                raise ValueError("a table name is 3 to 255 characters of [A-Za-z0-9_.-]")
            return value
        if value == {"authorizer": "table"} or _is_intrinsic(value):
            return value
        raise ValueError("must be a table name, an intrinsic, or {authorizer: table}")

    @property
    def key_attributes(self) -> frozenset[str]:
        """The table's own key attributes."""
        return frozenset(k for k in (self.partition_key, self.sort_key) if k is not None)


class FieldSpec(_Model):
    """A body field: its JSON-schema type and constraints (the request validator's model).

    ``default`` is the value the templates use when the body leaves the field out (a
    field with a default is optional); :mod:`tenantkit.direct.checks` checks it against
    the field's own type and constraints.
    """

    type: ValueType = "string"
    required: bool = True
    pattern: str | None = None
    max_length: int | None = Field(default=None, ge=1)
    min_length: int | None = Field(default=None, ge=0)
    enum: list[str | int | float | bool] | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: str | int | float | bool | None = None
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _optional_with_default(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("default") is not None:
            return {"required": False, **data}
        return data

    @model_validator(mode="after")
    def _default_is_optional(self) -> FieldSpec:
        if self.default is not None and self.required:
            raise ValueError("a field with a default is optional: drop required: true")
        return self


class Parameter(_Model):
    """A path or query-string parameter (API Gateway does not pattern-check these)."""

    pattern: str | None = None
    max_length: int | None = Field(default=None, ge=1)
    description: str | None = None


class Returned(_Model):
    """A response field: the DynamoDB attribute it comes from (default: same name)."""

    attribute: str | None = Field(default=None, pattern=ATTRIBUTE_NAME)
    type: ValueType = "string"


class Limit(_Model):
    default: int = Field(default=25, ge=1)
    maximum: int = Field(default=100, ge=1, le=1000)


_Key = dict[Annotated[str, Field(pattern=ATTRIBUTE_NAME)], str]
_Returns = dict[Annotated[str, Field(pattern=NAME)], Returned]


class GetItem(_Model):
    action: Literal["GetItem"]
    table: str
    key: _Key
    returns: _Returns = {}


class Query(_Model):
    action: Literal["Query"]
    table: str
    index: str | None = None
    partition: str
    begins_with: str | None = None
    limit: Limit = Limit()
    forward: bool = True
    returns: _Returns = {}


class PutItem(_Model):
    """Create an item that must not exist yet (409 if it does)."""

    action: Literal["PutItem"]
    table: str
    key: _Key
    attributes: _Key = {}
    returns: _Returns = {}


class UpdateItem(_Model):
    action: Literal["UpdateItem"]
    table: str
    key: _Key
    set: _Key
    must_exist: bool = True
    returns: _Returns = {}


class DeleteItem(_Model):
    action: Literal["DeleteItem"]
    table: str
    key: _Key
    must_exist: bool = False


DynamoDBAction = Annotated[
    GetItem | Query | PutItem | UpdateItem | DeleteItem, Field(discriminator="action")
]


class StepFunctions(_Model):
    """Start a state machine with ``{"tenantId", "userId", <fields>}`` as its input."""

    action: Literal["StartExecution", "StartSyncExecution"]
    state_machine: Reference
    input: list[str] | None = None
    errors: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,256}$")], int] = {}
    returns: _Returns = {}

    @field_validator("errors")
    @classmethod
    def _statuses(cls, value: dict[str, int]) -> dict[str, int]:
        if any(not 400 <= status <= 599 for status in value.values()):
            raise ValueError("error statuses are HTTP statuses from 400 to 599")
        return value


class LambdaProxy(_Model):
    """A Lambda proxy route; ``tenant_header`` maps ``X-Amz-Tenant-Id`` (PER_TENANT functions)."""

    function: Reference
    tenant_header: bool = False


class Route(_Model):
    operation: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9]{0,63}$")
    method: Method
    path: str = Field(pattern=r"^(/[A-Za-z0-9._~-]+|/\{[A-Za-z_][A-Za-z0-9_]*\})+$|^/$")
    summary: str | None = None
    path_parameters: dict[Annotated[str, Field(pattern=NAME)], Parameter] = {}
    query_parameters: dict[Annotated[str, Field(pattern=NAME)], Parameter] = {}
    body: dict[Annotated[str, Field(pattern=NAME)], FieldSpec] = {}
    status: int | None = Field(default=None, ge=200, le=299)
    credentials: Reference | None = None
    dynamodb: DynamoDBAction | None = None
    stepfunctions: StepFunctions | None = None
    lambda_: LambdaProxy | None = Field(default=None, alias="lambda")

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class Spec(_Model):
    api: Api = Api()
    authorizer: Authorizer
    credentials: Reference | None = None
    tables: dict[Annotated[str, Field(pattern=NAME)], Table] = {}
    routes: list[Route] = Field(min_length=1)


def location(loc: tuple[int | str, ...]) -> str:
    """``('routes', 2, 'dynamodb', 'GetItem', 'key')`` as ``routes[2].dynamodb.key``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part not in _ACTIONS:  # an action is pydantic's discriminator tag, not a key
            text += ("." if text else "") + part
    return text or "spec"


def parse_spec(data: object) -> Spec:
    """A validated ``Spec`` from parsed YAML/JSON, or ``ConfigurationError`` naming where.

    Runs the semantic checks too (:func:`tenantkit.direct.checks.check_spec`).
    """
    from tenantkit.direct.checks import check_spec

    try:
        spec = Spec.model_validate(data)
    except ValidationError as error:
        problems = [f"{location(tuple(e['loc']))}: {e['msg']}" for e in error.errors()]
        raise ConfigurationError("invalid route spec: " + "; ".join(problems)) from None
    check_spec(spec)
    return spec


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec file (YAML or JSON, which YAML reads too)."""
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(f"cannot read the route spec {str(path)!r}: {error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigurationError(f"the route spec {str(path)!r} is not YAML: {error}") from None
    return parse_spec(data)
