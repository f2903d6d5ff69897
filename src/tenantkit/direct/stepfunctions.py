"""Step Functions integrations: ``StartExecution`` and ``StartSyncExecution`` from VTL.

The execution input (decision 6) is a JSON object written inside the JSON string
``"input"``: ``{"tenantId": <authorizer tenant>, "userId": <authorizer user>, <fields>}``.
Each value is escaped twice (once for the inner JSON, once for the string holding it),
so no field can add a key or close either string. The state machine trusts ``tenantId``
because only the API's integration role may start it (decision 2).

A synchronous execution answers 200 (or the route's status) with the declared fields of
its output, each printed from its text as its declared type or ``null`` (the output is
the machine's, built from caller input, so it gets no more trust than that), strings
without the caller's ``<tenant>#`` prefix; a failed one answers the status the spec maps
its error to, else 500.
"""

from __future__ import annotations

from collections.abc import Mapping

from tenantkit.direct import vtl
from tenantkit.direct.dynamodb import returns_schema
from tenantkit.direct.integration import Integration, error_template, message, slot
from tenantkit.direct.spec import Returned, Route
from tenantkit.direct.values import Source, route_sources
from tenantkit.errors import ConfigurationError

__all__ = ["stepfunctions_integration"]

_THROTTLED = ("ExecutionLimitExceeded", "ThrottlingException")
#: JSON number text, as Java prints numbers (``7``, ``2.5``, ``1.0E20``), written without
#: backslashes, ``$`` or ``#``, so that every Velocity engine reads the same pattern.
_INTEGER = "-?(0|[1-9][0-9]*)"
_FRACTION = "([.][0-9]+)?([eE][+-]?[0-9]+)?"


def stepfunctions_integration(route: Route) -> Integration:
    """The integration of a route with a ``stepfunctions`` action."""
    action = route.stepfunctions
    assert action is not None
    sources = route_sources(route)
    names = action.input if action.input is not None else _declared(route)
    fields = [sources[name] for name in names]
    substitutions = {}
    if isinstance(action.state_machine, str):
        if any(c in action.state_machine for c in '"\\$#'):
            raise ConfigurationError("a state machine ARN cannot contain quotes, \\, $ or #")
        arn = action.state_machine
    else:
        substitutions["StateMachineArn"] = action.state_machine
        arn = slot("StateMachineArn")
    lines = vtl.prelude() + vtl.bindings(fields)
    lines.append(f"#set($user = {vtl.escaped('$context.authorizer.userId')})")
    lines.append(f"#set($w_tenant = {vtl.escaped('$tenant')})")
    lines.append(f"#set($w_user = {vtl.escaped('$user')})")
    inner = '{\\"tenantId\\":\\"$!{w_tenant}\\"'
    inner += '#if("$!{user}" != ""),\\"userId\\":\\"$!{w_user}\\"#end'
    for source in fields:
        inner += _input_field(source, lines)
    inner += "}"
    lines += ["{", f'"stateMachineArn": "{vtl.unless_known(arn)}",', f'"input": "{inner}"', "}"]
    sync = action.action == "StartSyncExecution"
    status = route.status or (200 if sync and action.returns else 204 if sync else 202)
    if sync:
        response = _sync_response(action.errors, action.returns)
        statuses = {status, *action.errors.values()}
    else:
        response = "" if status == 204 else "{}"
        statuses = {status}
    # A value the service cannot encode (a lone surrogate) is the caller's, not ours.
    errors = [(("InvalidExecutionInput", "SerializationException"), 400), (_THROTTLED, 429)]
    return Integration(
        service="states",
        action=action.action,
        request="\n".join(lines),
        responses={
            "default": (status, response),
            "4\\d{2}": (400, error_template(errors, 500)),
            "5\\d{2}": (500, message(500)),
        },
        statuses=tuple(sorted(statuses | {400, 403, 429, 500})),
        success=status,
        body_schema=returns_schema(action.returns) if action.returns else None,
        substitutions=substitutions,
    )


def _declared(route: Route) -> list[str]:
    return [*route.path_parameters, *route.query_parameters, *route.body]


def _input_field(source: Source, lines: list[str]) -> str:
    """The ``,"name":value`` of one field inside the escaped input, adding its bindings."""
    v = vtl.variable(source)
    if source.type == "boolean":
        value = f"#if(${v})true#{{else}}false#end"
    else:
        lines.append(f"#set($w_{v} = {vtl.escaped('$' + v)})")
        value = f"$!{{w_{v}}}" if source.type != "string" else f'\\"$!{{w_{v}}}\\"'
    piece = f',\\"{source.name}\\":{value}'
    return piece if source.required else f'#if("$!{{{v}}}" != ""){piece}#end'


def _sync_response(errors: Mapping[str, int], returns: Mapping[str, Returned]) -> str:
    lines = [
        *vtl.prelude(),
        "#set($status = \"$!input.path('$.status')\")",
        '#if($status == "SUCCEEDED")',
    ]
    if returns:
        lines.append("#set($out = $util.parseJson(\"$!input.path('$.output')\"))")
        fields = []
        for n, (name, returned) in enumerate(returns.items()):
            lines.append(f"#set($o{n} = \"$!out.get('{returned.attribute or name}')\")")
            fields.append(f'"{name}": {_plain(f"$o{n}", returned.type)}')
        lines.append("{" + ", ".join(fields) + "}")
    lines.append("#else")
    lines.append("#set($error = \"$!input.path('$.error')\")")
    keyword = "#if"
    for error, status in errors.items():
        lines += [
            f'{keyword}($error == "{error}")',
            f"#set($context.responseOverride.status = {status})",
            message(status),
        ]
        keyword = "#elseif"
    fallback = ["#set($context.responseOverride.status = 500)", message(500)]
    lines += ["#else", *fallback, "#end"] if errors else fallback
    lines.append("#end")
    return "\n".join(lines)


def _plain(printed: str, kind: str) -> str:
    """JSON text of an output value (``printed``: a variable holding its text), typed.

    The text decides, never the value: a number prints only if it is JSON number text
    (a string such as ``1,"x":true`` is ``null``), a boolean is ``true`` only for the
    text ``true``, a string is escaped and loses the caller's ``<tenant>#`` prefix. An
    absent or empty value is ``null``.
    """
    if kind == "boolean":
        return f'#if({printed} == "true")true#elseif({printed} == "false")false#{{else}}null#end'
    if kind in {"integer", "number"}:
        pattern = _INTEGER if kind == "integer" else _INTEGER + _FRACTION
        return f"#if({printed}.matches('{pattern}')){printed}#{{else}}null#end"
    stripped = f"{printed}.replaceAll($strip, '')"
    return f'#if({stripped} != "")"{vtl.quiet(vtl.escaped(stripped))}"#{{else}}null#end'
