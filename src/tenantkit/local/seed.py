"""Seed the local backend from a JSON file, and sign development tokens for its users.

The seed file is a JSON object; every key is optional:

``"users"``
    A list of objects, each with an ``"id"``. ``--print-tokens`` signs one HS256 token per
    user with the template's ``JwtSecret`` parameter, and its ``JwtIssuer`` and
    ``JwtAudience`` parameters as ``iss`` and ``aud`` when the template declares them.
    ``email``, ``firstName``/``given_name`` and ``lastName``/``family_name`` become claims.
``"items"``
    ``{"<TableLogicalId>": [item, ...]}``: plain JSON items put into that table.
``"loader"``
    ``"module:function"``, imported with the seed file's directory and then every
    ``CodeUri`` directory on ``sys.path``, and called once as ``function(seed, context)``
    (:class:`SeedContext`) after the resources exist, before the handlers are imported. While
    it runs, ``os.environ`` holds the functions' environment variables (those that no two
    functions set differently) and the backend settings, so the app can seed itself
    through its own library code.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantkit.local.backend import Backend
from tenantkit.local.functions import environment
from tenantkit.local.stack_specs import Stack, code_dirs
from tenantkit.local.template import TemplateError

__all__ = ["SeedContext", "load_seed", "seed_backend", "tokens"]

TOKEN_LIFETIME = 12 * 3600


@dataclass(frozen=True)
class SeedContext:
    """What a seed loader is told about the local stack."""

    resources: Mapping[str, Any]
    """Logical id -> what ``Ref`` gives: table name, queue URL, topic or secret ARN..."""
    parameters: Mapping[str, Any]
    """Parameter name -> value after defaults and ``--parameter-overrides``."""
    environment: Mapping[str, str]
    """The variables set in ``os.environ`` while the loader runs."""


def load_seed(path: Path) -> dict[str, Any]:
    try:
        seed = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise TemplateError(f"cannot read seed file {path}: {error.strerror}") from None
    except ValueError as error:
        raise TemplateError(f"seed file {path} is not valid JSON: {error}") from None
    if not isinstance(seed, dict):
        raise TemplateError(f"seed file {path} must hold a JSON object")
    users = seed.get("users", [])
    if not isinstance(users, list) or not all(
        isinstance(u, dict) and isinstance(u.get("id"), str) and u["id"] for u in users
    ):
        raise TemplateError(f'seed file {path}: "users" must be a list of objects with an id')
    return seed


def shared_environment(stack: Stack) -> dict[str, str]:
    """Variables every function that sets them agrees on."""
    merged: dict[str, str] = {}
    conflicting: set[str] = set()
    for spec in stack.functions.values():
        for key, value in spec.environment.items():
            if merged.setdefault(key, value) != value:
                conflicting.add(key)
    return {k: v for k, v in merged.items() if k not in conflicting}


def seed_backend(seed: Mapping[str, Any], seed_path: Path, stack: Stack, backend: Backend) -> None:
    items = seed.get("items") or {}
    if not isinstance(items, dict):
        raise TemplateError('seed "items" must map table logical ids to lists of items')
    for logical_id, table_items in items.items():
        resource = stack.template.resources.get(logical_id)
        if resource is None or resource.type != "AWS::DynamoDB::Table":
            raise TemplateError(f'seed "items" names {logical_id!r}, not a table in the template')
        if not isinstance(table_items, list):
            raise TemplateError(f'seed "items".{logical_id} must be a list')
        backend.put_items(str(stack.attributes[logical_id].ref), table_items)
    loader = seed.get("loader")
    if loader is None:
        return
    if not isinstance(loader, str) or loader.count(":") != 1:
        raise TemplateError('seed "loader" must be "module:function"')
    module_name, function_name = loader.split(":")
    for directory in reversed([seed_path.parent.resolve(), *code_dirs(stack)]):
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    variables = shared_environment(stack)
    context = SeedContext(stack.ref_values(), dict(stack.template.parameters), variables)
    with environment(variables):
        try:
            function = getattr(importlib.import_module(module_name), function_name)
            function(dict(seed), context)
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            raise TemplateError(
                f"seed loader {loader} failed: {type(error).__name__}: {error}"
            ) from error


def tokens(seed: Mapping[str, Any], parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(user id, HS256 JWT)`` for every seeded user."""
    import jwt

    secret = parameters.get("JwtSecret")
    if not isinstance(secret, str) or not secret:
        raise TemplateError(
            "--print-tokens needs a JwtSecret template parameter "
            "(or --parameter-overrides JwtSecret=...)"
        )
    now = int(time.time())
    signed: list[tuple[str, str]] = []
    for user in seed.get("users", []):
        claims: dict[str, Any] = {"sub": user["id"], "iat": now, "exp": now + TOKEN_LIFETIME}
        for claim, parameter in (("iss", "JwtIssuer"), ("aud", "JwtAudience")):
            if parameters.get(parameter):
                claims[claim] = parameters[parameter]
        for claim, keys in (
            ("email", ("email",)),
            ("given_name", ("given_name", "firstName")),
            ("family_name", ("family_name", "lastName")),
        ):
            value = next((user[k] for k in keys if isinstance(user.get(k), str)), None)
            if value is not None:
                claims[claim] = value
        signed.append((user["id"], jwt.encode(claims, secret, algorithm="HS256")))
    return signed
