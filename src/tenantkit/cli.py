"""The ``tenantkit`` command. Each subcommand imports its module only when it runs."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand -> module exposing add_arguments(parser) and run(args) -> int
_COMMANDS = {
    "token": ("tenantkit.auth.cli", "print a signed HS256 development token"),
    "policy": ("tenantkit.auth.cli", "print the IAM policy compiled from a role map"),
    "local": ("tenantkit.local.cli", "serve a SAM template's API locally, no Docker needed"),
    "openapi": ("tenantkit.direct.cli", "render a direct-integration route spec as OpenAPI"),
    "tenant": ("tenantkit.lifecycle.cli", "export, import, offboard, move, suspend a tenant"),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="tenantkit",
        description="tenantkit: multi-tenant serverless apps on AWS, safe by construction.",
        epilog="Run 'tenantkit COMMAND --help' for a command's options.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in _COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not args:
        parser.print_help(sys.stderr)
        return 2
    if args[0] not in _COMMANDS:
        parser.parse_args(args)  # --help, or an error naming the commands (exit 2)
        return 2
    name = args[0]
    module = importlib.import_module(_COMMANDS[name][0])
    command = argparse.ArgumentParser(prog=f"tenantkit {name}", description=_COMMANDS[name][1])
    module.add_arguments(name, command)
    result: int = module.run(name, command.parse_args(args[1:]))
    return result


if __name__ == "__main__":
    raise SystemExit(main())
