"""An OpenAPI document's security schemes: the Lambda authorizers among them
(``x-amazon-apigateway-authorizer``) and the API key schemes, which are not enforced
locally (there are no usage plans)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenantkit.local.template.model import TemplateError

__all__ = [
    "LAMBDA_URI",
    "DefinitionAuthorizer",
    "api_key_schemes",
    "definition_authorizers",
    "mapping_at",
]

_IDENTITY = re.compile(r"method\.request\.(header|querystring)\.(\S+)")
#: A Lambda function's invocation URI (authorizers and ``aws_proxy`` integrations).
LAMBDA_URI = re.compile(
    r"arn:aws[\w-]*:apigateway:[\w-]+:lambda:path/2015-03-31/functions/(?P<arn>.+)/invocations"
)


def mapping_at(value: Any, where: str) -> dict[str, Any]:
    """``value``, which must be a mapping (absent: empty); the error names ``where``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TemplateError(f"{where}: must be a mapping")
    return value


@dataclass(frozen=True)
class DefinitionAuthorizer:
    name: str
    function_arn: str
    payload_type: str  # "TOKEN" or "REQUEST"
    headers: tuple[str, ...]
    query_strings: tuple[str, ...]
    ttl: int
    validation_expression: str | None


def definition_authorizers(body: Mapping[str, Any], where: str) -> dict[str, DefinitionAuthorizer]:
    """The Lambda authorizers of the document's security schemes, by name."""
    components = mapping_at(body.get("components"), f"{where}.components")
    if "securitySchemes" in components:
        schemes_where = f"{where}.components.securitySchemes"
        schemes = mapping_at(components["securitySchemes"], schemes_where)
    else:
        schemes_where = f"{where}.securityDefinitions"
        schemes = mapping_at(body.get("securityDefinitions"), schemes_where)
    found: dict[str, DefinitionAuthorizer] = {}
    for name, scheme in schemes.items():
        spec = mapping_at(scheme, f"{schemes_where}.{name}").get("x-amazon-apigateway-authorizer")
        if spec is None:
            continue  # an API key scheme, say: nothing to run
        spec_where = f"{schemes_where}.{name}.x-amazon-apigateway-authorizer"
        spec = mapping_at(spec, spec_where)
        kind = str(spec.get("type", "")).lower()
        if kind not in ("token", "request"):
            raise TemplateError(f"{spec_where}.type: only Lambda authorizers (token, request)")
        uri = LAMBDA_URI.fullmatch(str(spec.get("authorizerUri", "")))
        if uri is None:
            raise TemplateError(f"{spec_where}.authorizerUri: not a Lambda invocation URI")
        headers: list[str] = []
        queries: list[str] = []
        sources = str(spec.get("identitySource", "method.request.header.Authorization"))
        for source in filter(None, (s.strip() for s in sources.split(","))):
            matched = _IDENTITY.fullmatch(source)
            if matched is None:
                raise TemplateError(f"{spec_where}.identitySource: {source!r} is not supported")
            (headers if matched[1] == "header" else queries).append(matched[2])
        if kind == "token" and (queries or len(headers) != 1):
            raise TemplateError(f"{spec_where}.identitySource: a token authorizer reads one header")
        ttl = spec.get("authorizerResultTtlInSeconds", 300)
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= 3600:
            raise TemplateError(f"{spec_where}.authorizerResultTtlInSeconds: 0 to 3600")
        expression = spec.get("identityValidationExpression")
        found[name] = DefinitionAuthorizer(
            name,
            uri["arn"],
            kind.upper(),
            tuple(headers),
            tuple(queries),
            ttl,
            None if expression is None else str(expression),
        )
    return found


def api_key_schemes(body: Mapping[str, Any]) -> set[str]:
    """Security schemes that only ask for an API key: not enforced locally (no usage plans)."""
    components = body.get("components")
    schemes = (components or {}).get("securitySchemes") if isinstance(components, dict) else None
    if schemes is None:
        schemes = body.get("securityDefinitions")
    if not isinstance(schemes, dict):
        return set()
    return {
        name
        for name, scheme in schemes.items()
        if isinstance(scheme, dict)
        and scheme.get("type") == "apiKey"
        and "x-amazon-apigateway-authorizer" not in scheme
    }
