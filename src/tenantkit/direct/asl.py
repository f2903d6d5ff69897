"""Step Functions helpers: tenant-prefixed task keys, and a check of a whole state machine.

A state machine started by a generated template gets ``{"tenantId": ...}`` from the
authorizer (decision 6). Its DynamoDB tasks must build every partition key from that field,
in ``dynamo.keys``' format: ``States.Format('{}#park#{}', $.tenantId, $.parkId)``.

:func:`check_state_machine` refuses a definition where that is not visibly so:

- a DynamoDB task whose ``Key``/``Item`` partition keys (or an ``UpdateExpression`` that
  writes one, through any ``#name`` placeholder) are not ``States.Format('{}#...',
  <tenant path>, ...)``, or that also come from a path (``pk.$``);
- a DynamoDB action it cannot verify (``query``, ``scan``, batches, transactions, PartiQL,
  JSONata arguments, a key taken whole from a path, a table, expressions or attribute
  names taken from the input, a ``Resource`` still holding a ``${Name}``): use a Lambda task
  with ``TenantTable``, or pass the ``DefinitionSubstitutions``. A ``<field>.$`` given
  beside a literal ``<field>`` is the one that runs, so it counts as taken from the input;
- a task that hands the tenant to code trusting it (a Lambda, whose
  ``events.step_functions_task`` restores the tenant from its payload, or a nested
  execution) with a ``tenantId`` not taken as ``tenantId.$: $.tenantId``, or a whole
  payload other than ``$``;
- a state that can change the tenant field before such a task or a DynamoDB task runs: an
  ``InputPath`` or ``OutputPath`` other than ``$``, a ``ResultPath`` (of the state or a
  catcher) that replaces the input or writes at or under the tenant field (in dotted or
  bracket notation; a path it cannot read counts as one), a Map whose item selector does
  not carry the tenant field through (or that batches items), a Parallel whose parameters
  do not;
- JSONata anywhere in a machine that has such tasks: a JSONata state's ``Output`` can
  rewrite the tenant field in ways a static check cannot follow, so the check refuses
  rather than evaluates it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from tenantkit.direct.reference_path import parse_reference_path
from tenantkit.direct.update_expression import update_items
from tenantkit.direct.values import Placeholder, parse_value
from tenantkit.dynamo.keys import SEPARATOR
from tenantkit.errors import ConfigurationError

__all__ = [
    "TENANT_PATH",
    "UnsafeStateMachineError",
    "check_state_machine",
    "states_format",
    "task_key",
]

#: Where the generated templates put the tenant in the execution input (decision 6).
TENANT_PATH = "$.tenantId"
_DYNAMODB = re.compile(r"states:::(aws-sdk:)?dynamodb:([A-Za-z]+)", re.I)
_VERIFIABLE = frozenset({"getItem", "putItem", "updateItem", "deleteItem"})
_FORMAT = re.compile(r"States\.Format\('((?:[^'\\]|\\.)*)'\s*,(.*)\)", re.S)
#: Task fields that only JSONata states have.
_JSONATA_FIELDS = frozenset({"Arguments", "Output"})
#: Lambda tasks (optimized, SDK, or the function's own ARN) and nested executions: the code
#: they run trusts the ``tenantId`` of its input (``events.step_functions_task``).
_LAMBDA_INVOKE = re.compile(r"states:::(aws-sdk:)?lambda:invoke", re.I)
_LAMBDA_ARN = re.compile(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:", re.I)
_START_EXECUTION = re.compile(r"states:::(states:startExecution|aws-sdk:sfn:start)", re.I)
_WHOLE_INPUT = frozenset({"$", "States.JsonToString($)"})


class UnsafeStateMachineError(ConfigurationError):
    """A state machine's DynamoDB tasks may address another tenant's keys.

    ``problems`` maps each offending state (``Parallel/branch state`` for nested ones) to
    why it was refused.
    """

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        listed = "; ".join(f"{state}: {why}" for state, why in self.problems.items())
        super().__init__(f"unsafe state machine ({len(self.problems)} states): {listed}")

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(self.problems)


def states_format(template: str, *, tenant_path: str = TENANT_PATH, prefixed: bool = True) -> str:
    """``'park#{parkId}'`` as ``States.Format('{}#park#{}', $.tenantId, $.parkId)``.

    Placeholders are paths in the state's input (``{detail.status}`` is ``$.detail.status``).
    With ``prefixed=False`` there is no tenant (a sort key); a lone placeholder is its path.
    """
    parts = _parts(template)
    pattern = "{}" + SEPARATOR if prefixed else ""
    arguments = [tenant_path] if prefixed else []
    for part in parts:
        if isinstance(part, Placeholder):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", part.name):
                raise ConfigurationError(f"{{{part.name}}} is not a path in the input")
            pattern += "{}"
            arguments.append("$." + part.name)
        else:
            pattern += part
    if not prefixed and pattern == "{}":
        return arguments[0]
    return f"States.Format('{pattern}', {', '.join(arguments)})"


def task_key(
    key: Mapping[str, str], *, partition_keys: Collection[str], tenant_path: str = TENANT_PATH
) -> dict[str, Any]:
    """A DynamoDB task's ``Key`` (or ``Item`` part): partition keys tenant-prefixed."""
    out: dict[str, Any] = {}
    for attribute, template in key.items():
        parts = _parts(template)
        if attribute in partition_keys:
            out[attribute] = {"S.$": states_format(template, tenant_path=tenant_path)}
        elif all(isinstance(p, str) for p in parts):
            out[attribute] = {"S": template}
        else:
            out[attribute] = {"S.$": states_format(template, prefixed=False)}
    return out


def _parts(template: str) -> tuple[str | Placeholder, ...]:
    try:
        return parse_value(template)
    except ValueError as error:
        raise ConfigurationError(f"key template {template!r}: {error}") from None


def check_state_machine(
    definition: Mapping[str, Any] | str,
    *,
    partition_keys: Collection[str] = ("pk",),
    tenant_path: str = TENANT_PATH,
    substitutions: Mapping[str, str] | None = None,
) -> None:
    """Raise :class:`UnsafeStateMachineError` listing every offending state, else return.

    ``partition_keys`` are the attributes stored tenant-prefixed (each table's and GSI's
    partition key); ``definition`` is ASL as a dict or JSON text; ``substitutions`` are
    the template's ``DefinitionSubstitutions``, applied first. A Task whose ``Resource``
    still holds a ``${Name}`` is refused: the check cannot see what it runs.
    """
    if not re.fullmatch(r"\$\.[A-Za-z_][A-Za-z0-9_]*", tenant_path):
        raise ConfigurationError("tenant_path must be a top-level field such as '$.tenantId'")
    text = definition if isinstance(definition, str) else json.dumps(definition)
    for name, value in (substitutions or {}).items():
        text = text.replace("${" + name + "}", json.dumps(str(value))[1:-1])
    machine = json.loads(text)
    problems: dict[str, str] = {}
    checker = _Checker(frozenset(partition_keys), tenant_path, problems)
    if checker.states(machine, ""):
        for where in checker.jsonata:
            checker.refuse(where, "JSONata can rewrite the tenant field: use JSONPath throughout")
    if problems:
        raise UnsafeStateMachineError(problems)


class _Checker:
    def __init__(self, keys: frozenset[str], tenant_path: str, problems: dict[str, str]) -> None:
        self.keys = keys
        self.path = tenant_path
        self.field = tenant_path[2:]
        self.problems = problems
        self.jsonata: list[str] = []

    def states(self, machine: Mapping[str, Any], prefix: str) -> bool:
        """Check one state list; whether it holds a tenant task (DynamoDB or hand-off)."""
        if machine.get("QueryLanguage", "JSONPath") != "JSONPath":
            self.jsonata.append(prefix.rstrip("/") or "(machine)")
        states: Mapping[str, Any] = machine.get("States") or {}
        direct = {name: self.inner(name, state, prefix) for name, state in states.items()}
        reaches = dict(direct)
        changed = True
        while changed:
            changed = False
            for name, state in states.items():
                if not reaches[name] and any(reaches.get(n, False) for n in _next(state)):
                    reaches[name] = changed = True
        for name, state in states.items():
            after = any(reaches.get(n, False) for n in _next(state))
            self.flow(prefix + name, state, reaches[name], after)
            for catcher in state.get("Catch", []):
                if reaches.get(catcher.get("Next"), False) and not self.safe(
                    catcher.get("ResultPath", "$")
                ):
                    self.refuse(prefix + name, f"a Catch ResultPath can replace {self.path}")
        return any(direct.values())

    def inner(self, name: str, state: Mapping[str, Any], prefix: str) -> bool:
        """Check a state's own task and nested machines; whether it holds a tenant task."""
        where = prefix + name
        if state.get("QueryLanguage", "JSONPath") != "JSONPath" or _JSONATA_FIELDS & set(state):
            self.jsonata.append(where)
        kind = state.get("Type")
        if kind == "Parallel":
            branches = any([self.states(b, f"{where}/") for b in state.get("Branches", [])])
            if branches and "Parameters" in state and not self.carried(state["Parameters"]):
                self.refuse(where, f"its Parameters must carry {self.field}.$: {self.path}")
            return branches
        if kind == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator") or {}
            found = self.states(processor, f"{where}/")
            selector = state.get("ItemSelector", state.get("Parameters"))
            if found and (selector is None or not self.carried(selector)):
                self.refuse(where, f"its ItemSelector must carry {self.field}.$: {self.path}")
            elif found and "ItemBatcher" in state:
                self.refuse(where, "an ItemBatcher's input cannot be verified")
            return found
        if kind != "Task":
            return False
        resource = state.get("Resource")
        if not isinstance(resource, str):
            self.refuse(where, "its Resource is not an ARN: pass the resolved definition")
            return True
        if "${" in resource:
            self.refuse(where, f"its Resource {resource} is unresolved: pass substitutions=")
            return True
        match = _DYNAMODB.search(resource)
        if match is not None:
            self.task(where, state, match.group(2))
            return True
        return self.handoff(where, state, resource)

    def carried(self, selector: object) -> bool:
        return (
            isinstance(selector, Mapping)
            and selector.get(self.field + ".$") == self.path
            and self.field not in selector
        )

    def handoff(self, where: str, state: Mapping[str, Any], resource: str) -> bool:
        """Check a task whose code trusts its input's tenant (a Lambda, a nested execution);
        whether it hands the tenant on. It must take it from the tenant field as is."""
        parameters = state.get("Parameters")
        if _LAMBDA_ARN.search(resource):
            if parameters is None:
                return True  # the Lambda gets the state's whole input
            parameters, field = {"Payload": parameters}, "Payload"
        elif _LAMBDA_INVOKE.search(resource):
            field = "InvokeArgs" if "invokeasync" in resource.lower() else "Payload"
        elif _START_EXECUTION.search(resource):
            field = "Input"
        else:
            return False
        if not isinstance(parameters, Mapping):
            return False
        if field + ".$" in parameters:
            if field not in parameters and parameters[field + ".$"] in _WHOLE_INPUT:
                return True
            self.refuse(where, f"its {field}.$ must be $ (the input that holds {self.path})")
            return True
        payload = parameters.get(field)
        if payload is None:
            return False
        if not isinstance(payload, Mapping):
            self.refuse(where, f"its {field} is not an object: its tenant cannot be verified")
            return True
        if self.field in payload or self.field + ".$" in payload:
            if not self.carried(payload):
                self.refuse(where, f"its {field} must carry {self.field}.$: {self.path}")
            return True
        return False

    def task(self, where: str, state: Mapping[str, Any], action: str) -> None:
        parameters = state.get("Parameters")
        if state.get("QueryLanguage") == "JSONata" or "Arguments" in state:
            return self.refuse(where, "JSONata arguments cannot be verified")
        if action not in _VERIFIABLE or not isinstance(parameters, Mapping):
            return self.refuse(
                where, f"dynamodb:{action} cannot be verified: use a Lambda task with TenantTable"
            )
        if state.get("InputPath", "$") != "$":
            return self.refuse(where, "a DynamoDB task must read the whole input (InputPath)")
        if "TableName.$" in parameters or not isinstance(parameters.get("TableName"), str):
            return self.refuse(where, "its TableName must be fixed (the input names no table)")
        from_input = [p for p in parameters if p.endswith(".$") and "Expression" in p]
        if from_input:
            return self.refuse(where, f"its {from_input[0]} comes from the input")
        field = "Item" if action == "putItem" else "Key"
        if field + ".$" in parameters:
            return self.refuse(where, f"its {field} comes whole from a path")
        attributes = parameters.get(field)
        if not isinstance(attributes, Mapping) or not self.keys.intersection(attributes):
            return self.refuse(where, f"its {field} has no partition key {sorted(self.keys)}")
        for attribute in self.keys:
            if attribute + ".$" in attributes:
                return self.refuse(where, f"{field}.{attribute} comes from a path")
        for attribute in self.keys.intersection(attributes):
            if not self.tenant_value(attributes[attribute]):
                return self.refuse(where, f"{field}.{attribute} does not start from {self.path}")
        if action == "updateItem":
            self.update(where, parameters)
        return None

    def update(self, where: str, parameters: Mapping[str, Any]) -> None:
        """Refuse an ``UpdateExpression`` that writes a partition key other than as
        ``SET <key> = :value`` with a tenant-formatted ``:value`` (and no ``:value.$``
        beside it: a path given with a literal is the one that runs)."""
        names = parameters.get("ExpressionAttributeNames") or {}
        values = parameters.get("ExpressionAttributeValues") or {}
        if not isinstance(names, Mapping) or any(str(n).endswith(".$") for n in names):
            return self.refuse(where, "its ExpressionAttributeNames come from the input")
        for item in update_items(str(parameters.get("UpdateExpression", ""))):
            written = {str(names.get(t, t)) for t in item.written}
            if not self.keys.intersection(written):
                continue
            tokens = item.tokens
            value = tokens[2] if len(tokens) == 3 and tokens[1] == "=" else ""
            if (
                item.clause != "SET"
                or not value.startswith(":")
                or not isinstance(values, Mapping)
                or not self.tenant_value(values.get(value))
            ):
                return self.refuse(
                    where, f"its UpdateExpression changes a partition key without {self.path}"
                )
            if value + ".$" in values:
                return self.refuse(where, f"its ExpressionAttributeValues give {value} a path too")
        return None

    def tenant_value(self, value: object) -> bool:
        """Whether an attribute value is ``States.Format('{}#...', <tenant path>, ...)``."""
        if not isinstance(value, Mapping) or set(value) != {"S.$"}:
            return False
        match = _FORMAT.fullmatch(str(value["S.$"]).strip())
        if match is None or not match.group(1).startswith("{}" + SEPARATOR):
            return False
        return match.group(2).split(",")[0].strip() == self.path

    def flow(self, where: str, state: Mapping[str, Any], reaches: bool, after: bool) -> None:
        """Refuse a state that can change the tenant field on its way to a tenant task."""
        if reaches and state.get("InputPath", "$") != "$":
            self.refuse(where, "an InputPath on the way to a tenant task")
        elif after and state.get("OutputPath", "$") != "$":
            self.refuse(where, "an OutputPath on the way to a tenant task")
        elif after and _writes_result(state) and not self.safe(state.get("ResultPath", "$")):
            self.refuse(where, f"its ResultPath can replace {self.path}")

    def safe(self, result_path: object) -> bool:
        """Whether a ``ResultPath`` leaves the tenant field alone: it names a field beside
        it. ``$``, the field, a path under it, or a path this check cannot read is unsafe."""
        if result_path is None:
            return True
        segments = parse_reference_path(result_path)
        return segments is not None and segments[:1] not in ([], [self.field])

    def refuse(self, where: str, why: str) -> None:
        self.problems.setdefault(where, why)


def _writes_result(state: Mapping[str, Any]) -> bool:
    """Whether the state's ``ResultPath`` can change its input (a Pass copies it)."""
    kind = state.get("Type")
    if kind == "Pass":
        return "Result" in state or "Parameters" in state or "ResultPath" in state
    return kind in {"Task", "Map", "Parallel"}


def _next(state: Mapping[str, Any]) -> list[str]:
    targets = [state.get("Next"), state.get("Default")]
    targets += [choice.get("Next") for choice in state.get("Choices", [])]
    targets += [catcher.get("Next") for catcher in state.get("Catch", [])]
    return [t for t in targets if isinstance(t, str)]
