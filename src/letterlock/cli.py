"""The ``letterlock`` command.

Sub-commands arrive with their milestones (serve, demo, account, send, ...). For now:
``letterlock conformance [DIR]`` runs the official MLS vectors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from letterlock import __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="letterlock", description="Letterlock messenger")
    parser.add_argument("--version", action="version", version=f"letterlock {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    conf = sub.add_parser("conformance", help="run the official RFC 9420 test vectors")
    conf.add_argument("directory", nargs="?", help="vector directory")
    conf.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "conformance":
        from letterlock.mls import conformance

        forwarded = [args.directory] if args.directory else []
        return conformance.main([*forwarded, *(["-v"] if args.verbose else [])])
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
