"""`make demo`: serve the state-parks API locally and walk through tenant isolation.

Starts `tenantkit local` on examples/state_parks (a loopback moto server, seeded, webhooks to
loopback allowed), waits until it listens, runs walkthrough.py against it, then keeps
serving until Ctrl-C. With DEMO_ONCE=1 it stops the server after the walkthrough and
exits 0 only if every step behaved as expected.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO

APP = Path(__file__).parent / "state_parks"
READY = "tenantkit local: listening on "
BACKEND = re.compile(r"^tenantkit local: backend .* behind (http://\S+)$", re.M)
START_TIMEOUT = 120.0


def pick_port() -> int:
    """8000 when it is free (the documented port), else any free loopback port."""
    wanted = int(os.environ.get("DEMO_PORT", "8000"))
    for port in (wanted, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            chosen: int = probe.getsockname()[1]
            return chosen
    raise RuntimeError("no free loopback port")


def start_server(port: int, log: IO[str]) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "tenantkit.cli", "local", str(APP / "template.yaml"),
        "--seed", str(APP / "seed.json"),
        "--port", str(port),
        "--parameter-overrides", f"JwtSecret={secrets.token_urlsafe(32)}",
        "AllowLocalWebhooks=true",
        "--print-tokens",
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)


def wait_until_listening(server: subprocess.Popen[str]) -> tuple[str, list[str]]:
    """Read the server's stdout up to its readiness line; return the URL and token lines."""
    assert server.stdout is not None
    result: list[str] = []
    url: list[str] = []

    def read() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            if line.startswith(READY):
                url.append(line[len(READY) :].strip())
                return
            if line.startswith("token "):
                result.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)
    if not url:
        raise RuntimeError("tenantkit local did not become ready")
    # Keep draining stdout so the server never blocks on a full pipe.
    threading.Thread(target=server.stdout.read, daemon=True).start()
    return url[0], result


def stop(server: subprocess.Popen[str]) -> None:
    """Stop the server we started, by its PID."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the demo like Ctrl-C: the server goes too


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    once = os.environ.get("DEMO_ONCE") == "1"
    workdir = Path(tempfile.mkdtemp(prefix="tenantkit-demo-"))
    log_path = workdir / "server.log"
    with log_path.open("w") as log:
        server = start_server(pick_port(), log)
        try:
            print(f"Starting tenantkit local on the state-parks example (log: {log_path}) ...")
            try:
                url, tokens = wait_until_listening(server)
            except RuntimeError as error:
                print(f"demo: {error}; the server log says:", file=sys.stderr)
                print(log_path.read_text()[-4000:], file=sys.stderr)
                return 1
            token_file = workdir / "tokens.txt"
            token_file.write_text("".join(tokens))
            walk = [sys.executable, str(APP / "walkthrough.py"), "--url", url]
            # The operator's step (suspending a tenant) reaches the server's backend.
            backend = BACKEND.search(log_path.read_text())
            if backend:
                walk += ["--aws-endpoint-url", backend.group(1)]
            status = subprocess.run([*walk, "--tokens", str(token_file)], check=False).returncode
            if once:
                return status
            print(f"\nThe API keeps serving at {url} (access log: {log_path}).")
            print(f"Tokens for alice, bob, carol and dave are in {token_file}.")
            print("Press Ctrl-C to stop.")
            try:
                server.wait()
            except KeyboardInterrupt:
                print("\nstopping ...")
            return status
        finally:
            stop(server)


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        raise SystemExit(130) from None
