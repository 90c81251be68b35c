"""Run the official RFC 9420 test vectors: ``python -m letterlock.mls.conformance [DIR]``.

DIR defaults to ``$LETTERLOCK_MLS_VECTORS``. One line per vector file::

    <file>: <p> passed, <f> failed, <s> skipped (<reason>)

then a last line ``<P> passed, <F> failed`` over all cases. Exit status 1 when any case
failed (or no vector directory was found). ``-v`` prints each failure's reason.

This is a command-line tool: it is the one module of the mls package that reads files.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._kat import Case

# Vector files in the order they build on each other, and the checker module of each.
VECTOR_FILES: tuple[tuple[str, str], ...] = (
    ("tree-math.json", "tree_math"),
    ("deserialization.json", "deserialization"),
    ("crypto-basics.json", "crypto_basics"),
    ("secret-tree.json", "secret_tree"),
    ("key-schedule.json", "key_schedule"),
    ("psk_secret.json", "psk_secret"),
    ("transcript-hashes.json", "transcript_hashes"),
    ("messages.json", "messages"),
    ("message-protection.json", "message_protection"),
    ("welcome.json", "welcome"),
    ("tree-validation.json", "tree_validation"),
    ("tree-operations.json", "tree_operations"),
    ("treekem.json", "treekem"),
    ("passive-client-welcome.json", "passive_client"),
    ("passive-client-handling-commit.json", "passive_client"),
    ("passive-client-random.json", "passive_client"),
)

NOT_YET = "not implemented yet: MLS core part 2"

Checker = Callable[[Case], None]


def load_checker(module: str) -> Checker | None:
    """The ``check`` function for a vector file, or None if that checker does not exist."""
    try:
        mod = importlib.import_module(f"letterlock.mls._kat.{module}")
    except ModuleNotFoundError as exc:
        if exc.name == f"letterlock.mls._kat.{module}":
            return None
        raise
    check: Checker = mod.check
    return check


def default_directory() -> Path | None:
    value = os.environ.get("LETTERLOCK_MLS_VECTORS")
    return Path(value) if value else None


@dataclass
class FileResult:
    name: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    reason: str = ""
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = f"{self.name}: {self.passed} passed, {self.failed} failed, {self.skipped} skipped"
        return f"{text} ({self.reason})" if self.reason else text


def iter_files(directory: Path) -> Iterator[tuple[Path, str]]:
    for name, module in VECTOR_FILES:
        path = directory / name
        if path.exists():
            yield path, module


def run_file(path: Path, module: str) -> FileResult:
    cases: list[Case] = json.loads(path.read_text())
    result = FileResult(path.name)
    check = load_checker(module)
    if check is None:
        result.skipped = len(cases)
        result.reason = NOT_YET
        return result
    for index, case in enumerate(cases):
        try:
            check(case)
        except Exception as exc:  # a conformance report counts every failure
            result.failed += 1
            result.failures.append(f"case {index}: {type(exc).__name__}: {exc}")
        else:
            result.passed += 1
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m letterlock.mls.conformance",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("directory", nargs="?", type=Path, default=default_directory(),
                        help="vector directory (default: $LETTERLOCK_MLS_VECTORS)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each failure")
    args = parser.parse_args(argv)
    directory: Path | None = args.directory
    if directory is None or not directory.is_dir():
        print(f"no vector directory: {directory} (set LETTERLOCK_MLS_VECTORS or pass DIR)",
              file=sys.stderr)
        return 1
    total_passed = total_failed = 0
    for path, module in iter_files(directory):
        result = run_file(path, module)
        print(result.line(), flush=True)
        if args.verbose:
            for failure in result.failures:
                print(f"    {failure}")
        total_passed += result.passed
        total_failed += result.failed
    print(f"{total_passed} passed, {total_failed} failed")
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main())
