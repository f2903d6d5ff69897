"""``tenantkit token`` (a signed HS256 development token) and ``tenantkit policy``."""

from __future__ import annotations

import argparse
import json
import sys
import time

from tenantkit.errors import ConfigurationError

__all__ = ["add_arguments", "run"]


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of ``tenantkit token`` or ``tenantkit policy``."""
    if name == "token":
        parser.description = (
            "Print a signed HS256 JWT for local development. Never use it in production."
        )
        parser.add_argument("--secret", required=True, help="HMAC secret, at least 32 bytes")
        parser.add_argument("--sub", required=True, help="the subject (user id)")
        parser.add_argument("--issuer", help="the iss claim")
        parser.add_argument("--audience", help="the aud claim")
        parser.add_argument(
            "--ttl", type=int, default=3600, help="seconds until it expires (default 3600)"
        )
    elif name == "policy":
        parser.description = "Print the IAM policy a role map compiles to for some roles."
        parser.add_argument("rolemap", metavar="ROLEMAP.json", help="the role map JSON file")
        parser.add_argument(
            "--method-arn",
            required=True,
            help="a methodArn or routeArn, e.g. arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/GET/",
        )
        parser.add_argument(
            "--roles", default="", help="comma-separated roles; empty for no active tenant"
        )
    else:
        raise ValueError(f"unknown command {name!r}")


def run(name: str, args: argparse.Namespace) -> int:
    """Run ``tenantkit token`` or ``tenantkit policy``; returns the exit status."""
    try:
        if name == "token":
            print(_token(args))
        elif name == "policy":
            print(_policy(args))
        else:
            raise ValueError(f"unknown command {name!r}")
    except ConfigurationError as error:
        print(f"tenantkit {name}: {error}", file=sys.stderr)
        return 2
    return 0


def _token(args: argparse.Namespace) -> str:
    import jwt

    from tenantkit._shared.keysource import checked_secret

    secret = checked_secret(args.secret, "--secret")  # the verifier's own check
    if args.ttl <= 0:
        raise ConfigurationError("--ttl must be a positive number of seconds")
    now = int(time.time())
    claims: dict[str, object] = {"sub": args.sub, "iat": now, "exp": now + args.ttl}
    if args.issuer:
        claims["iss"] = args.issuer
    if args.audience:
        claims["aud"] = args.audience
    return jwt.encode(claims, secret, algorithm="HS256")


def _policy(args: argparse.Namespace) -> str:
    from tenantkit.auth.rolemap import RoleMap

    role_map = RoleMap.from_file(args.rolemap)
    roles = [role.strip() for role in args.roles.split(",") if role.strip()]
    unknown = sorted(set(roles) - role_map.roles)
    if unknown:
        raise ConfigurationError(f"--roles names roles the role map does not declare: {unknown}")
    try:
        policy = role_map.policy(roles, args.method_arn)
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    return json.dumps(policy, indent=2)
