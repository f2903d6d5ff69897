"""``tenantkit openapi SPEC``: render a route spec's OpenAPI document (a SAM DefinitionBody)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tenantkit.errors import ConfigurationError

__all__ = ["add_arguments", "run"]


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of ``tenantkit openapi``."""
    if name != "openapi":
        raise ValueError(f"unknown command {name!r}")
    parser.description = (
        "Render a direct-integration route spec (YAML or JSON) as an OpenAPI 3 document with "
        "API Gateway integrations, request validators and models."
    )
    parser.add_argument("spec", metavar="SPEC", help="the route spec file (YAML or JSON)")
    parser.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    parser.add_argument(
        "--format",
        choices=("yaml", "json"),
        default=None,
        help="output format (default: from --out's suffix, else yaml)",
    )


def run(name: str, args: argparse.Namespace) -> int:
    """Run ``tenantkit openapi``; 0 on success, 2 for an invalid spec (message on stderr)."""
    from tenantkit.direct.openapi import dump, render_openapi
    from tenantkit.direct.spec import load_spec

    form = args.format or ("json" if args.out and args.out.endswith(".json") else "yaml")
    try:
        text = dump(render_openapi(load_spec(args.spec)), form)
    except ConfigurationError as error:
        print(f"tenantkit {name}: {error}", file=sys.stderr)
        return 2
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
