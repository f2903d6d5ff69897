"""Stage the state-parks app for deployment under ``build/state_parks``, editing no tracked file.

``make example-build`` runs this. Every run starts from an empty output directory, so it
is repeatable: the same checkout gives the same tree. It

1. builds tenantkit's wheel from this checkout (tenantkit is not published; a bare
   ``tenantkit`` requirement would install whatever an index serves under that name);
2. copies ``template.yaml`` with the files it names (``app/``, the API's ``definition.yaml``
   and ``statemachine/``) beside each other, so its relative paths still hold;
3. installs the wheel into the staged ``app/`` without its dependencies;
4. writes ``app/requirements.txt``: the app's own requirements, then tenantkit's and its
   ``powertools`` extra's, **less what the Lambda runtime provides** (boto3 and botocore),
   so no function ships its own copy of the SDK;
5. unless ``--no-vendor``, installs those requirements into ``app/`` for Lambda's platform
   (``manylinux2014_aarch64``, CPython 3.12, wheels only), so ``sam deploy`` can upload the
   directory as it is: no ``sam build``, no Python 3.12 and no Docker on this machine.

With ``--no-vendor`` the staged ``app/requirements.txt`` is left for ``sam build`` to
install, which needs ``python3.12`` on the PATH (the template pins the runtime) or
``sam build --use-container``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent
ROOT = EXAMPLE.parents[1]
DEFAULT_OUT = ROOT / "build" / "state_parks"
# tenantkit extras the app imports (app/web.py uses tenantkit.integrations.powertools).
EXTRAS = ("powertools",)
# In every Python Lambda runtime; bundling them would only add about 26 MB per function.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore"})
# What the template deploys to: Architectures [arm64], Runtime python3.12.
LAMBDA_PLATFORM = ("--platform", "manylinux2014_aarch64", "--python-version", "3.12")
NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
# name, [extras], version specifiers, ; marker (PEP 508, without URL requirements)
REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*([^;]*?)\s*(;.*)?")


def requirement_name(line: str) -> str:
    """The normalized project name of a requirement line (PEP 503)."""
    match = NAME.match(line)
    if match is None:
        raise ValueError(f"not a requirement: {line!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def requirement_lines(text: str) -> list[str]:
    """The requirements of a requirements file, without comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def tenantkit_requirements(pyproject: Path, extras: Iterable[str] = EXTRAS) -> list[str]:
    """tenantkit's runtime requirements plus those of ``extras``, from its pyproject."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    found = list(project["dependencies"])
    for extra in extras:
        found.extend(project["optional-dependencies"][extra])
    return found


def function_requirements(app_requirements: str, pyproject: Path) -> list[str]:
    """What the functions need installed: the app's requirements, then tenantkit's, one
    line per project (extras and version specifiers merged), less what the runtime
    provides. A ``tenantkit`` line is refused, for the reason above."""
    merged: dict[str, tuple[str, list[str], list[str], str]] = {}
    for line in [*requirement_lines(app_requirements), *tenantkit_requirements(pyproject)]:
        match = REQUIREMENT.fullmatch(line)
        if match is None:
            raise ValueError(f"unsupported requirement (no URLs or options): {line!r}")
        name = requirement_name(line)
        if name == "tenantkit":
            raise ValueError("app/requirements.txt must not name tenantkit; the build adds it")
        if name in RUNTIME_PROVIDED:
            continue
        _, extras, specifiers, marker = merged.setdefault(
            name, (match.group(1), [], [], match.group(4) or "")
        )
        if (match.group(4) or "") != marker:
            raise ValueError(f"{name} is required under two different markers")
        for found, into in ((match.group(2), extras), (match.group(3), specifiers)):
            for part in (re.sub(r"\s+", "", p) for p in (found or "").split(",")):
                if part and part not in into:
                    into.append(part)
    return [
        spelled + (f"[{','.join(extras)}]" if extras else "") + ",".join(specifiers) + marker
        for spelled, extras, specifiers, marker in merged.values()
    ]


def run(*command: str | Path) -> None:
    subprocess.run([str(part) for part in command], check=True)


def build_wheel(out: Path) -> Path:
    dist = out / "dist"
    shutil.rmtree(dist, ignore_errors=True)  # exactly one wheel, this checkout's
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, ROOT)
    (wheel,) = dist.glob("tenantkit-*.whl")
    return wheel


def stage(out: Path, wheel: Path, *, vendor: bool) -> Path:
    """Lay out ``out`` (emptied first) and return its template's path."""
    if out.exists():
        shutil.rmtree(out)
    app = out / "app"
    shutil.copytree(
        EXAMPLE / "app",
        app,
        ignore=shutil.ignore_patterns("__pycache__", ".*", "requirements.txt"),  # caches too
    )
    shutil.copy2(EXAMPLE / "template.yaml", out / "template.yaml")
    # DefinitionBody's AWS::Include and the state machine's DefinitionUri: `sam deploy`
    # uploads both, as it zips CodeUri.
    shutil.copy2(EXAMPLE / "definition.yaml", out / "definition.yaml")
    shutil.copytree(EXAMPLE / "statemachine", out / "statemachine")
    pip_install = (sys.executable, "-m", "pip", "install", "--quiet", "--no-compile")
    run(*pip_install, "--no-deps", "--target", app, wheel)
    shutil.rmtree(app / "bin", ignore_errors=True)  # the `tenantkit` console script
    requirements = function_requirements(
        (EXAMPLE / "app" / "requirements.txt").read_text(encoding="utf-8"),
        ROOT / "pyproject.toml",
    )
    header = (
        "# Generated by examples/state_parks/build.py from app/requirements.txt and\n"
        "# tenantkit's pyproject.toml; boto3 and botocore come with the Lambda runtime.\n"
    )
    (app / "requirements.txt").write_text(header + "\n".join(requirements) + "\n")
    if vendor:
        run(
            *pip_install,
            *LAMBDA_PLATFORM,
            "--only-binary=:all:",
            "--target",
            app,
            "-r",
            app / "requirements.txt",
        )
        shutil.rmtree(app / "bin", ignore_errors=True)  # the dependencies' console scripts
    return out / "template.yaml"


def size_mb(directory: Path) -> float:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file()) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="emptied, then filled")
    parser.add_argument("--wheel", type=Path, help="a tenantkit wheel to use instead of building")
    parser.add_argument(
        "--no-vendor",
        dest="vendor",
        action="store_false",
        help="leave app/requirements.txt for `sam build` instead of installing it",
    )
    args = parser.parse_args(argv)
    out = args.out.resolve()
    scratch = out.with_name(out.name + ".wheel")
    wheel = args.wheel.resolve() if args.wheel else build_wheel(scratch)
    template = stage(out, wheel, vendor=args.vendor)
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"staged {template.parent} ({size_mb(out / 'app'):.1f} MB in app/)")
    if args.vendor:
        print(f"next: cd {template.parent} && sam deploy --guided")
    else:
        print(f"next: cd {template.parent} && sam build && sam deploy --guided")
        print("(sam build needs python3.12 on the PATH, or add --use-container)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
