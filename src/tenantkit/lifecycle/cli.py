"""``tenantkit tenant ...``: the operator's lifecycle commands.

``export``, ``import``, ``offboard``, ``move`` and ``backfill-index`` (this package), and
``suspend``, ``resume`` and ``set-tier`` (``tenantkit.auth.tenant_admin``). Each prints a
JSON summary on stdout, shows progress on stderr when it is a terminal, and writes an
audit line (``tenantkit.audit``) to stderr. AWS settings come from the environment, as
for every AWS tool (``AWS_PROFILE``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from pathlib import Path
from typing import Any

from tenantkit.errors import ConfigurationError, TenantKitError

__all__ = ["add_arguments", "run"]

_ACTIONS = {
    "export": "write a tenant's items to JSON Lines, with a manifest",
    "import": "write an export file's items into a tenant",
    "offboard": "erase a tenant (a dry run unless --yes)",
    "move": "move a tenant's items to another table (pool to silo)",
    "backfill-index": "tag existing items for the enumeration index (one Scan)",
    "suspend": "suspend a tenant: its members keep only the authenticated routes",
    "resume": "make a suspended tenant active again",
    "set-tier": "put a tenant in a tier",
}


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    """Declare ``tenantkit tenant ACTION ...``."""
    if name != "tenant":
        raise ValueError(f"unknown command {name!r}")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, help_text in _ACTIONS.items():
        sub = actions.add_parser(action, help=help_text, description=help_text)
        _common(sub)
        if action == "import":
            sub.add_argument("file", type=Path, help="the export file (JSON Lines)")
            sub.add_argument("--tenant", required=True, help="the tenant to import into")
        elif action != "backfill-index":
            sub.add_argument("tenant_id", metavar="TENANT")
        if action == "export":
            sub.add_argument("--out", type=Path, help="the file to write (TENANT.jsonl)")
        elif action == "offboard":
            sub.add_argument("--yes", action="store_true", help="act (default: a dry run)")
            sub.add_argument(
                "--sweep-after",
                type=float,
                default=360.0,
                help="seconds before the second sweep: the authorizer's plus the status "
                "cache's TTL (default 360)",
            )
            sub.add_argument("--topic-prefix", default="tk", help="TopicRegistry's prefix")
            sub.add_argument("--no-webhooks", action="store_true", help="the app has none")
            sub.add_argument("--admin-role", default="admin", help="the registry's admin role")
            _assume_indexed(sub)
        elif action == "move":
            sub.add_argument("--to-table", required=True, help="the tenant's new table")
            sub.add_argument(
                "--from-table",
                help="the table it leaves: its placement (the default; another is refused), or, "
                "after the switch, the old table to clean up",
            )
            sub.add_argument(
                "--settle",
                type=float,
                default=360.0,
                help="seconds to wait for caches after each switch (default 360)",
            )
            _assume_indexed(sub)
        elif action == "set-tier":
            sub.add_argument("tier")


def _assume_indexed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--assume-indexed",
        action="store_true",
        help="run without a completed backfill-index: the table had the enumeration index "
        "from its first write (items it does not list would be left behind)",
    )


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", required=True, help="the app's (pool) table")
    parser.add_argument("--partition-key", default="pk")
    parser.add_argument("--sort-key", default="sk", help="'' for a table without one")
    parser.add_argument(
        "--index-key",
        type=_pair,
        action="append",
        metavar="INDEX=ATTRIBUTE",
        help="a GSI whose partition key is tenant-prefixed (default GSI1=GSI1PK)",
    )
    parser.add_argument("--enumeration-index", default="TenantItems")
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument(
        "--usage-plan",
        type=_pair,
        action="append",
        metavar="TIER=PLAN_ID",
        help="the usage plan of a tier, to move or delete the tenant's API key",
    )
    parser.add_argument("--actor", help="who runs this, for the audit log (default: $USER)")
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument("--progress", action="store_true", default=None)
    progress.add_argument("--no-progress", dest="progress", action="store_false")


def run(name: str, args: argparse.Namespace) -> int:
    """Run one action; prints its JSON summary. Exit 0, 1 when refused or failed."""
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(message)s")
    logging.getLogger("tenantkit.audit").setLevel(logging.INFO)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        summary = _dispatch(args)
    except ConfigurationError as error:
        print(f"tenantkit tenant {args.action}: {error}", file=sys.stderr)
        return 2
    except (TenantKitError, OSError, ClientError, BotoCoreError) as error:
        # AWS's own refusals (no such table or index, access denied, no credentials)
        # are the operator's to fix: a message, not a traceback.
        print(f"tenantkit tenant {args.action}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _dispatch(args: argparse.Namespace) -> dict[str, Any]:
    from tenantkit.auth.tenant_admin import Operator, TenantAdmin
    from tenantkit.auth.usage_plans import UsagePlans
    from tenantkit.dynamo.enumeration import Enumeration
    from tenantkit.lifecycle.runs import Run, TableSpec

    spec = TableSpec(
        args.table,
        partition_key=args.partition_key,
        sort_key=args.sort_key or None,
        indexes=dict(args.index_key) if args.index_key else {"GSI1": "GSI1PK"},
        enumeration=Enumeration(args.enumeration_index, args.shards),
    )
    actor = args.actor or getpass.getuser()
    operator = Operator(actor)
    plans = UsagePlans(dict(args.usage_plan)) if args.usage_plan else None
    admin = TenantAdmin(
        spec.name,
        partition_key=spec.partition_key,
        sort_key=spec.sort_key or "sk",
        usage_plans=plans,
    )
    action = args.action
    tenant: str | None = args.tenant if action == "import" else getattr(args, "tenant_id", None)
    if action in ("suspend", "resume", "set-tier"):
        if action == "suspend":
            status = admin.suspend(args.tenant_id, actor=operator)
        elif action == "resume":
            status = admin.resume(args.tenant_id, actor=operator)
        else:
            status = admin.set_tier(args.tenant_id, args.tier, actor=operator)
        return {"action": action, "tenant": tenant, "status": status.status, "tier": status.tier}
    with Run(action, tenant, actor=actor, progress=args.progress) as run:
        _lifecycle(action, args, spec, admin, operator, run)
    return run.summary


def _lifecycle(
    action: str, args: argparse.Namespace, spec: Any, admin: Any, operator: Any, run: Any
) -> None:
    if action == "export":
        from tenantkit.lifecycle.transfer import export_tenant

        out = args.out or Path(f"{args.tenant_id}.jsonl")
        export_tenant(spec, args.tenant_id, out, run, admin=admin)
    elif action == "import":
        from tenantkit.lifecycle.transfer import import_tenant

        import_tenant(spec, args.file, args.tenant, run, admin=admin)
    elif action == "offboard":
        from tenantkit.lifecycle.offboard import Offboarding

        registry = None
        if not args.no_webhooks:
            from tenantkit.events.topics import TopicRegistry

            registry = TopicRegistry(
                spec.name,
                partition_key=spec.partition_key,
                sort_key=spec.sort_key or "sk",
                topic_prefix=args.topic_prefix,
                admin_roles=(args.admin_role,),
            )
        offboarding = Offboarding(spec, admin, operator, registry, admin_role=args.admin_role)
        if args.yes:
            offboarding.run(
                args.tenant_id,
                run,
                sweep_after=args.sweep_after,
                assume_indexed=args.assume_indexed,
            )
        else:
            offboarding.plan(args.tenant_id, run)
    elif action == "move":
        from tenantkit.lifecycle.move import Move

        Move(spec, admin, operator, settle=args.settle).run(
            args.tenant_id,
            args.to_table,
            run,
            from_table=args.from_table,
            assume_indexed=args.assume_indexed,
        )
    else:
        from tenantkit.lifecycle.backfill import backfill_index

        backfill_index(spec, run)
