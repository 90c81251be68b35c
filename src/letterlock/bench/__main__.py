"""``python -m letterlock.bench NAME [options]``: run one benchmark."""

from __future__ import annotations

import sys
from collections.abc import Sequence

BENCHES = ("mls",)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in BENCHES:
        print(f"usage: python -m letterlock.bench {{{','.join(BENCHES)}}} [options]",
              file=sys.stderr)
        return 2
    if args[0] == "mls":
        from . import mls

        return mls.main(args[1:])
    return 2


if __name__ == "__main__":
    sys.exit(main())
