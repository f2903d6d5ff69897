"""The ``tenantkit local TEMPLATE`` command: start, print readiness, serve until signalled."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

__all__ = ["add_arguments", "run"]

EXTRA_HINT = "tenantkit local needs the 'local' extra: pip install 'tenantkit[local]'"


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("template", type=Path, help="the SAM template (template.yaml)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (8000)")
    parser.add_argument("--seed", type=Path, help="JSON seed file (see docs/local.md)")
    parser.add_argument(
        "--parameter-overrides",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="template parameter values",
    )
    parser.add_argument(
        "--endpoint-url",
        help="use this AWS-compatible endpoint (a moto server...) instead of in-process moto",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="execution environments per function at most (4)",
    )
    parser.add_argument(
        "--serial",
        action="store_true",
        help="run one invocation at a time, across all functions (for comparisons)",
    )
    parser.add_argument(
        "--print-tokens",
        action="store_true",
        help="print 'token <userId> <jwt>' for each seeded user, signed with JwtSecret",
    )


def _error(message: str) -> int:
    print(f"tenantkit local: error: {message}", file=sys.stderr, flush=True)
    return 1


def _overrides(pairs: list[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--parameter-overrides takes KEY=VALUE, got {pair!r}")
        overrides[key] = value
    return overrides


def run(name: str, args: argparse.Namespace) -> int:
    needed = ["yaml", "werkzeug"] + ([] if args.endpoint_url else ["moto"])
    missing = [module for module in needed if importlib.util.find_spec(module) is None]
    if missing:
        print(f"{EXTRA_HINT} (missing: {', '.join(missing)})", file=sys.stderr)
        return 2
    try:
        overrides = _overrides(args.parameter_overrides)
    except ValueError as error:
        return _error(str(error))
    if args.concurrency is not None and args.concurrency < 1:
        return _error("--concurrency must be at least 1")
    # Like Lambda's runtime: a root handler, level WARNING; loggers the app sets lower
    # (from LOG_LEVEL, say) still show their records.
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs each request
    return _run(args, overrides)


def _run(args: argparse.Namespace, overrides: dict[str, str]) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from tenantkit.errors import ConfigurationError
    from tenantkit.local.backend import Backend
    from tenantkit.local.events import EventRelay
    from tenantkit.local.functions import DEFAULT_CONCURRENCY, Runtime
    from tenantkit.local.gateway import Gateway, serve
    from tenantkit.local.queues import QueuePoller
    from tenantkit.local.seed import load_seed, seed_backend, tokens
    from tenantkit.local.stack import build_stack
    from tenantkit.local.template import Template, parse_template

    backend = Backend(endpoint_url=args.endpoint_url)
    template: Template | None = None
    try:
        template = parse_template(args.template, overrides)
        seed = load_seed(args.seed) if args.seed else {}
        if args.print_tokens and not seed.get("users"):
            raise ConfigurationError('--print-tokens needs --seed with a "users" list')
        signed = tokens(seed, template.parameters) if args.print_tokens else []
        backend.start()
        stack = build_stack(template, backend)
        if args.seed:
            # In this process: each function imports its own modules in its own workers.
            seed_backend(seed, args.seed, stack, backend)
        runtime = Runtime(
            stack.functions,
            concurrency=args.concurrency or DEFAULT_CONCURRENCY,
            serial=args.serial,
        )
        runtime.load()
        backend.serve_lambda(runtime)
        here = f"python{sys.version_info.major}.{sys.version_info.minor}"
        others = sorted({spec.runtime for spec in stack.functions.values()} - {here})
        if others:
            print(
                f"tenantkit local: note: functions declare {', '.join(others)}; "
                f"this interpreter is {here}",
                file=sys.stderr,
            )
        try:
            server = serve(Gateway(stack, runtime), args.host, args.port)
        except OSError as error:
            raise ConfigurationError(
                f"cannot listen on {args.host}:{args.port}: {error.strerror}"
            ) from None
    except ConfigurationError as error:
        backend.stop()
        return _error(template.locate(error) if template is not None else str(error))
    except (BotoCoreError, ClientError) as error:
        backend.stop()
        return _error(f"the backend ({backend.description}) failed: {error}")
    except KeyboardInterrupt:
        backend.stop()
        return _error("interrupted while starting")

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}

    pollers: list[threading.Thread] = [
        QueuePoller(source, runtime, backend.client("sqs"), stack.region, stop)
        for source in stack.sqs_sources
        if source.enabled
    ]
    pollers += [EventRelay(target, backend.client, stop) for target in stack.event_relays]
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    serving.start()
    for poller in pollers:
        poller.start()
    for user_id, token in signed:
        print(f"token {user_id} {token}")
    host, port = str(server.server_address[0]), int(server.server_address[1])
    print(f"tenantkit local: backend {backend.description}", file=sys.stderr)
    print(f"tenantkit local: listening on http://{host}:{port}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        serving.join()
        runtime.close()  # invocations still running fail now, rather than delay the stop
        for poller in pollers:
            poller.join(timeout=5)
        backend.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("tenantkit local: stopped", file=sys.stderr, flush=True)
    return 0
