"""Mutation testing of tenantkit's security core: the engine behind `make mutate`.

mutmut 3 reads a single [tool.mutmut] section from the pyproject.toml of the directory it
runs in, and works in ./mutants there. Each target in mutation/targets.toml has its own
module and tests, so this script gives each target a fresh work directory, mutants/<name>/,
holding links to src/ and tests/ and a copy of pyproject.toml with that target's section.
It runs `mutmut run` there and reads the verdicts back through mutmut's command line
(`results`, `show`) rather than its internals. A fresh directory each run keeps mutmut
from reusing a survivor's cached verdict after the test that kills it has been added.

A surviving mutant covered by mutation/survivors.toml has been reviewed and changes no
behaviour. The others are printed with their diffs. The exit status is 1 while any of
them remains, or when a target could not run.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from review import (
    Reviewed,
    Survivor,
    function_of,
    load_reviewed,
    mangle,
    message_entries,
    toml_entry,
)

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "mutation" / "targets.toml"
SURVIVORS = ROOT / "mutation" / "survivors.toml"
WORK = ROOT / "mutants"
MUTMUT = Path(sys.executable).parent / "mutmut"
# mutmut's verdicts that count as a kill; `make test` runs mypy, so a mutant that does
# not type-check is caught too. Every other verdict (survived, no tests, ...) survives.
KILLED = frozenset({"killed", "timeout", "caught by type check"})


@dataclass(frozen=True)
class Target:
    """A module (or some of its functions) and the tests that cover it."""

    name: str
    module: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        return "src/" + self.module.replace(".", "/") + ".py"

    def patterns(self) -> list[str]:
        """mutmut name globs for this target's mutants, one per listed function."""
        if not self.functions:
            return [f"{self.module}.x*__mutmut_*"]
        return [f"{self.module}.{mangle(f)}__mutmut_*" for f in self.functions]

    def owns(self, function: str) -> bool:
        """Whether `function` (module.Class.method) is mutated by this target."""
        if not self.functions:
            return function.startswith(self.module + ".")
        return function in {f"{self.module}.{f}" for f in self.functions}


@dataclass
class Outcome:
    target: Target
    seconds: float = 0.0
    total: int = 0
    killed: int = 0
    reviewed: int = 0
    matched: set[Reviewed] = field(default_factory=set)
    unreviewed: list[Survivor] = field(default_factory=list)
    error: str | None = None


def load_targets() -> list[Target]:
    targets = []
    for entry in tomllib.loads(TARGETS.read_text(encoding="utf-8"))["target"]:
        unknown = set(entry) - {"name", "module", "tests", "functions"}
        if unknown:
            raise SystemExit(f"{TARGETS.name}: unknown keys {sorted(unknown)} in {entry}")
        targets.append(
            Target(
                name=entry["name"],
                module=entry["module"],
                tests=tuple(entry["tests"]),
                functions=tuple(entry.get("functions", ())),
            )
        )
    return targets


def test_files(target: Target) -> list[str]:
    files = []
    for pattern in target.tests:
        found = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(pattern))
        if not found:
            raise ValueError(f"no test file matches {pattern!r}")
        files += found
    return files


def mutmut_section(target: Target, tests: list[str]) -> str:
    """[tool.mutmut] for one target (JSON strings, lists and booleans are valid TOML)."""
    settings: dict[str, object] = {
        "source_paths": ["src"],
        "only_mutate": [target.source],
        "pytest_add_cli_args_test_selection": tests,
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-p", "no:xdist"],
        "use_git_change_detection": False,
    }
    lines = ["", "[tool.mutmut]", *(f"{k} = {json.dumps(v)}" for k, v in settings.items())]
    return "\n".join(lines) + "\n"


def mutmut(work: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our venv's mutmut, fixed arguments
        [str(MUTMUT), *args], cwd=work, capture_output=True, text=True, check=True
    )
    return done.stdout


# `mutmut show NAME` for many names in one process: a process per name costs more than
# the mutants of a small module. The output of each starts with "# NAME: status".
_SHOW_ALL = """import sys
from mutmut.__main__ import cli
for name in sys.argv[1:]:
    cli.main(["show", name], standalone_mode=False)
"""


def diffs(work: Path, names: list[str]) -> dict[str, str]:
    shown = subprocess.run(  # noqa: S603 - our venv's python, mutant names from mutmut
        [sys.executable, "-c", _SHOW_ALL, *names],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wanted = set(names)
    found: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in shown.splitlines():
        name = line[2:].partition(": ")[0]
        if line.startswith("# ") and name in wanted:
            lines = found.setdefault(name, [])
        else:
            lines.append(line)
    return {name: "\n".join(found[name]) for name in names}


def prepare(work: Path, target: Target, tests: list[str]) -> None:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name in ("src", "tests"):
        (work / name).symlink_to(Path("..", "..", name), target_is_directory=True)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    if "mutmut" in tomllib.loads(pyproject).get("tool", {}):
        raise SystemExit("pyproject.toml has [tool.mutmut]: mutation/run.py writes that section")
    (work / "pyproject.toml").write_text(pyproject + mutmut_section(target, tests))
    (work / "source.sha256").write_text(_digest(ROOT / target.source))


def run_target(target: Target, jobs: int, reviewed: list[Reviewed], rescore: bool) -> Outcome:
    outcome = Outcome(target)
    work = WORK / target.name
    if rescore:
        if not (work / "mutants").is_dir():
            outcome.error = f"no earlier run in {work} to score again"
            return outcome
        return score(outcome, work, reviewed)
    if not (ROOT / target.source).is_file():
        outcome.error = f"{target.source} does not exist; update {TARGETS.name}"
        return outcome
    try:
        tests = test_files(target)
    except ValueError as exc:
        outcome.error = f"{exc}; update {TARGETS.name}"
        return outcome
    prepare(work, target, tests)
    log = work / "mutmut.log"
    started = time.monotonic()
    with log.open("w") as out:
        run = subprocess.run(  # noqa: S603 - our venv's mutmut, arguments from targets.toml
            [str(MUTMUT), "run", "--max-children", str(jobs), *target.patterns()],
            cwd=work,
            env={**os.environ, "HYPOTHESIS_PROFILE": "mutation"},
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    outcome.seconds = time.monotonic() - started
    if run.returncode != 0:
        tail = log.read_text(errors="replace").replace("\r", "\n").splitlines()[-30:]
        outcome.error = f"mutmut run exited {run.returncode}; {log}:\n" + "\n".join(tail)
        return outcome
    return score(outcome, work, reviewed)


def score(outcome: Outcome, work: Path, reviewed: list[Reviewed]) -> Outcome:
    """Read the verdicts of a finished run and sort its survivors into reviewed or not."""
    target = outcome.target
    statuses: dict[str, str] = {}
    for line in mutmut(work, "results", "--all", "true").splitlines():
        name, _, status = line.strip().rpartition(": ")
        if any(fnmatch.fnmatchcase(name, p) for p in target.patterns()):
            statuses[name] = status
    missing = [p for p in target.patterns() if not fnmatch.filter(statuses, p)]
    if missing:
        outcome.error = f"no mutants match {missing}: renamed or moved? update {TARGETS.name}"
        return outcome

    outcome.total = len(statuses)
    outcome.killed = sum(status in KILLED for status in statuses.values())
    alive = sorted(
        (name for name, status in statuses.items() if status not in KILLED),
        key=lambda name: (function_of(name), int(name.rpartition("_")[2])),
    )
    for name, diff in diffs(work, alive).items():
        survivor = Survivor(name, statuses[name], diff)
        entry = next((r for r in reviewed if r.covers(survivor)), None)
        if entry is None:
            outcome.unreviewed.append(survivor)
        else:
            outcome.reviewed += 1
            outcome.matched.add(entry)
    return outcome


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def minutes(seconds: float) -> str:
    """Wall time as 3m07s; "-" for a run that was only scored again."""
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s" if seconds else "-"


def print_table(outcomes: list[Outcome]) -> None:
    columns = ["Target", "Module", "Mutants", "Killed", "Reviewed survivors"]
    columns += ["Unreviewed survivors", "Raw score", "Adjusted score", "Time"]
    print(f"\n| {' | '.join(columns)} |\n|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for o in outcomes:
        cells = ["failed", "", "", "", "", ""]
        if not o.error:
            counted = o.total - o.reviewed
            cells = [str(o.total), str(o.killed), str(o.reviewed), str(len(o.unreviewed))]
            cells += [percent(o.killed, o.total), percent(o.killed, counted)]
        print(f"| {o.target.name} | `{o.target.module}` | {' | '.join(cells)} ", end="")
        print(f"| {minutes(o.seconds)} |")
    done = [o for o in outcomes if not o.error]
    total, killed = sum(o.total for o in done), sum(o.killed for o in done)
    counted = total - sum(o.reviewed for o in done)
    print(f"| all | | {total} | {killed} | {total - counted} | {counted - killed} ", end="")
    print(f"| {percent(killed, total)} | {percent(killed, counted)} ", end="")
    print(f"| {minutes(sum(o.seconds for o in outcomes))} |")


def report(outcomes: list[Outcome], reviewed: list[Reviewed]) -> bool:
    """Print the score table and every unreviewed survivor; True if none is left."""
    print_table(outcomes)
    for o in outcomes:
        if o.error:
            print(f"\n{o.target.name} FAILED: {o.error}")
        messages = [s for s in o.unreviewed if s.change.rewrites_strings_only()]
        for s in o.unreviewed:
            if s not in messages:
                print(f"\n--- {o.target.name}: {s.function} ({s.status}; mutmut show {s.name})")
                print(s.diff.rstrip())
                change = s.change
                lines = [f"-{line}" for line in change.removed] + [f"+{a}" for a in change.added]
                print(toml_entry(s.function, lines))
        if messages:
            print(f"\n--- {o.target.name}: {len(messages)} survivors only rewrite string literals.")
            print("Where the string is message text (an error or a log message), add its entry")
            print("with a reason; a string that is data (a key, a header, a format) is a gap.")
            print("\n".join(message_entries(messages)))

    done = [o for o in outcomes if not o.error]
    matched = {r for o in done for r in o.matched}
    for r in reviewed:
        if r not in matched and any(o.target.owns(r.function) for o in done):
            gone = " / ".join(r.change.removed)
            print(f"\nCovers no survivor now, remove from {SURVIVORS.name}: {r.function}: {gone}")
    return all(not o.error and not o.unreviewed for o in outcomes)


def run_under(mutant: str, pytest_args: list[str], targets: list[Target]) -> int:
    """Run tests from tests/ against one mutant of the last run, e.g. to watch a new test
    kill it. mutmut's generated source switches to the mutant named by MUTANT_UNDER_TEST."""
    owner = next(
        (t for t in targets if any(fnmatch.fnmatchcase(mutant, p) for p in t.patterns())), None
    )
    if owner is None:
        raise SystemExit(f"{mutant} is not a mutant of any target in {TARGETS.name}")
    work = WORK / owner.name
    again = f"run make mutate TARGETS={owner.name} again"
    if not (work / "mutants" / owner.source).is_file():
        raise SystemExit(f"no earlier run of {owner.name}: {again}")
    if (work / "source.sha256").read_text() != _digest(ROOT / owner.source):
        raise SystemExit(f"{owner.source} changed since the last run of {owner.name}: {again}")
    if f"def {mutant.rpartition('.')[2]}(" not in (work / "mutants" / owner.source).read_text():
        raise SystemExit(f"the last run of {owner.name} made no mutant {mutant}")
    mutated = str(work / "mutants" / "src")
    path = os.pathsep.join(p for p in (mutated, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "HYPOTHESIS_PROFILE": "mutation"}
    command = [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider"]
    for active in ("", mutant):  # first without the mutant: the tests must pass there
        done = subprocess.run(  # noqa: S603 - our venv's pytest, the caller's test selection
            [*command, *pytest_args],
            cwd=ROOT,
            env={**env, "MUTANT_UNDER_TEST": active},
            check=False,
        )
        if not active and done.returncode != 0:
            raise SystemExit("these tests fail without the mutant too; fix them first")
    verdict = {0: "survives these tests", 1: "is killed by these tests"}
    print(f"{mutant} {verdict.get(done.returncode, f'gave pytest exit {done.returncode}')}")
    return done.returncode


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    targets = load_targets()
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument(
        "targets", nargs="*", help="names from targets.toml (default: all); with --under, tests"
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutmut workers")
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="score the last run again (after editing survivors.toml) without mutating",
    )
    parser.add_argument(
        "--under", metavar="MUTANT", help="run the given tests against one mutant of the last run"
    )
    args = parser.parse_args()
    if args.under:
        return run_under(args.under, args.targets, targets)
    by_name = {t.name: t for t in targets}
    unknown = [n for n in args.targets if n not in by_name]
    if unknown:
        parser.error(f"unknown targets {unknown}; choose from {sorted(by_name)}")
    chosen = [by_name[n] for n in args.targets] or targets
    reviewed = load_reviewed(SURVIVORS)

    outcomes = []
    for number, target in enumerate(chosen, 1):
        print(f"[{number}/{len(chosen)}] {target.name}: {target.module} ...", flush=True)
        outcome = run_target(target, args.jobs, reviewed, args.rescore)
        print(f"    {outcome.total} mutants, {minutes(outcome.seconds)}", flush=True)
        outcomes.append(outcome)
    return 0 if report(outcomes, reviewed) else 1


if __name__ == "__main__":
    sys.exit(main())
