"""``python -m letterlock.bench NAME [options]``: run one benchmark."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

BENCHES = ("mls", "server", "transparency")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in BENCHES:
        print(f"usage: python -m letterlock.bench {{{','.join(BENCHES)}}} [options]",
              file=sys.stderr)
        return 2
    module = importlib.import_module(f"letterlock.bench.{args[0]}")
    status: int = module.main(args[1:])
    return status


if __name__ == "__main__":
    sys.exit(main())
