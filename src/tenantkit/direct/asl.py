"""Step Functions helpers: tenant-prefixed task keys, and a check of a whole state machine.

A state machine started by a generated template gets ``{"tenantId": ...}`` from the
authorizer (contract 4). Its DynamoDB tasks must build every partition key from that field,
in ``dynamo.keys``' format: ``States.Format('{}#park#{}', $.tenantId, $.parkId)``.

:func:`check_state_machine` refuses a definition where that is not visibly so:

- a DynamoDB task whose ``Key``/``Item`` partition keys (or an ``UpdateExpression`` that
  assigns one) are not ``States.Format('{}#...', <tenant path>, ...)``;
- a DynamoDB action it cannot verify (``query``, ``scan``, batches, transactions, PartiQL,
  JSONata arguments, a key taken whole from a path, a ``Resource`` left as ``${Name}``):
  use a Lambda task with ``TenantTable``, or pass the ``DefinitionSubstitutions``;
- a state that can change the tenant field before a DynamoDB task runs: an ``InputPath``
  or ``OutputPath`` other than ``$``, a ``ResultPath`` (of the state or a catcher) that
  replaces the input or writes at or around the tenant field, a Map whose item selector
  does not carry the tenant field through, a Parallel whose parameters do not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

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

#: Where the generated templates put the tenant in the execution input (contract 4).
TENANT_PATH = "$.tenantId"
_DYNAMODB = re.compile(r"states:::(aws-sdk:)?dynamodb:([A-Za-z]+)")
_VERIFIABLE = frozenset({"getItem", "putItem", "updateItem", "deleteItem"})
_FORMAT = re.compile(r"States\.Format\('((?:[^'\\]|\\.)*)'\s*,(.*)\)", re.S)
_ASSIGNMENT = re.compile(r"^\s*([#A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(:[A-Za-z0-9_]+)\s*$")


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
    the template's ``DefinitionSubstitutions``, applied first. A Task whose ``Resource`` is
    still one ``${Name}`` is refused: the check cannot see what it runs.
    """
    if not re.fullmatch(r"\$\.[A-Za-z_][A-Za-z0-9_]*", tenant_path):
        raise ConfigurationError("tenant_path must be a top-level field such as '$.tenantId'")
    text = definition if isinstance(definition, str) else json.dumps(definition)
    for name, value in (substitutions or {}).items():
        text = text.replace("${" + name + "}", json.dumps(str(value))[1:-1])
    machine = json.loads(text)
    problems: dict[str, str] = {}
    _Checker(frozenset(partition_keys), tenant_path, problems).states(machine, "")
    if problems:
        raise UnsafeStateMachineError(problems)


class _Checker:
    def __init__(self, keys: frozenset[str], tenant_path: str, problems: dict[str, str]) -> None:
        self.keys = keys
        self.path = tenant_path
        self.field = tenant_path[2:]
        self.problems = problems

    def states(self, machine: Mapping[str, Any], prefix: str) -> bool:
        """Check one state list; whether it holds a DynamoDB task."""
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
        """Check a state's own task and nested machines; whether it holds a DynamoDB task."""
        where = prefix + name
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
            return found
        resource = str(state.get("Resource", ""))
        if kind == "Task" and re.fullmatch(r"\$\{[^}]*\}", resource):
            self.refuse(where, f"its Resource {resource} is unresolved: pass substitutions=")
            return True
        match = _DYNAMODB.search(resource) if kind == "Task" else None
        if match is None:
            return False
        self.task(where, state, match.group(2))
        return True

    def carried(self, selector: object) -> bool:
        return isinstance(selector, Mapping) and selector.get(self.field + ".$") == self.path

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
        field = "Item" if action == "putItem" else "Key"
        if field + ".$" in parameters:
            return self.refuse(where, f"its {field} comes whole from a path")
        attributes = parameters.get(field)
        if not isinstance(attributes, Mapping) or not self.keys.intersection(attributes):
            return self.refuse(where, f"its {field} has no partition key {sorted(self.keys)}")
        for attribute in self.keys.intersection(attributes):
            if not self.tenant_value(attributes[attribute]):
                return self.refuse(where, f"{field}.{attribute} does not start from {self.path}")
        if action == "updateItem":
            self.update(where, parameters)
        return None

    def update(self, where: str, parameters: Mapping[str, Any]) -> None:
        names = parameters.get("ExpressionAttributeNames") or {}
        values = parameters.get("ExpressionAttributeValues") or {}
        expression = str(parameters.get("UpdateExpression", ""))
        sets = re.split(r"\b(SET|REMOVE|ADD|DELETE)\b", expression, flags=re.I)
        for clause in zip(sets[1::2], sets[2::2], strict=True):
            for item in _top_level(clause[1]):
                tokens = re.findall(r"#?[A-Za-z_][A-Za-z0-9_]*", item.split("=")[0])
                targets = {names.get(t, t) if t.startswith("#") else t for t in tokens}
                if not self.keys.intersection(targets):
                    continue
                assignment = _ASSIGNMENT.match(item)
                if (
                    clause[0].upper() != "SET"
                    or assignment is None
                    or not self.tenant_value(values.get(assignment.group(2)))
                ):
                    self.refuse(
                        where, f"its UpdateExpression changes a partition key without {self.path}"
                    )
                    return

    def tenant_value(self, value: object) -> bool:
        """Whether an attribute value is ``States.Format('{}#...', <tenant path>, ...)``."""
        if not isinstance(value, Mapping) or set(value) != {"S.$"}:
            return False
        match = _FORMAT.fullmatch(str(value["S.$"]).strip())
        if match is None or not match.group(1).startswith("{}" + SEPARATOR):
            return False
        return match.group(2).split(",")[0].strip() == self.path

    def flow(self, where: str, state: Mapping[str, Any], reaches: bool, after: bool) -> None:
        """Refuse a state that can change the tenant field on its way to a DynamoDB task."""
        if reaches and state.get("InputPath", "$") != "$":
            self.refuse(where, "an InputPath on the way to a DynamoDB task")
        elif after and state.get("OutputPath", "$") != "$":
            self.refuse(where, "an OutputPath on the way to a DynamoDB task")
        elif after and _writes_result(state) and not self.safe(state.get("ResultPath", "$")):
            self.refuse(where, f"its ResultPath can replace {self.path}")

    def safe(self, result_path: object) -> bool:
        if result_path is None:
            return True
        path = str(result_path)
        return not (
            path == "$"
            or path == self.path
            or path.startswith(self.path + ".")
            or path.startswith(self.path + "[")
        )

    def refuse(self, where: str, why: str) -> None:
        self.problems.setdefault(where, why)


def _writes_result(state: Mapping[str, Any]) -> bool:
    kind = state.get("Type")
    return kind in {"Task", "Map", "Parallel"} or (
        kind == "Pass" and ("Result" in state or "Parameters" in state)
    )


def _next(state: Mapping[str, Any]) -> list[str]:
    targets = [state.get("Next"), state.get("Default")]
    targets += [choice.get("Next") for choice in state.get("Choices", [])]
    targets += [catcher.get("Next") for catcher in state.get("Catch", [])]
    return [t for t in targets if isinstance(t, str)]


def _top_level(clause: str) -> list[str]:
    """Split an update clause on commas outside parentheses."""
    items, depth, current = [], 0, ""
    for char in clause:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    return [item for item in [*items, current] if item.strip()]
