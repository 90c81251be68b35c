"""``letterlock audit``: replay a server's whole key-transparency log.

An auditor holds no account and trusts only the log key it pinned on its first run. Each
run it reads the newest tree head and every entry (``GET /v1/transparency/entries``,
with an auditor or device token), then hands the entries and every tree head it has
ever seen (kept in a state file between runs) to
:func:`letterlock.transparency.audit_log`: a log that truncated, rewrote or forked its
history since an earlier run fails, and the heads that prove it are in the state file.

State file (JSON)::

    {"log_public_key": "<base64>", "tree_heads": ["<base64 SignedTreeHead>", ...]}
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from letterlock.transparency import (
    AuditReport,
    ConsistencyProof,
    InconsistentLogError,
    LogEntry,
    SignedTreeHead,
    SplitViewError,
    audit_log,
)

from .errors import ClientError
from .transport import LogPage

__all__ = ["AuditSource", "AuditState", "run_audit"]

PAGE = 1000
MAX_HEADS = 10_000  # the state file keeps the latest this many distinct heads


class AuditSource(Protocol):
    """What an auditor reads (:class:`~letterlock.client.transport.Api` is one)."""

    async def transparency_key(self) -> bytes: ...

    async def tree_head(self, since: int) -> tuple[SignedTreeHead,
                                                   ConsistencyProof | None]: ...

    async def log_entries(self, start: int, limit: int, *,
                          token: str | None = None) -> LogPage: ...


@dataclass
class AuditState:
    """The pinned log key (None before the first run) and the heads seen, in order."""

    log_public_key: bytes | None = None
    tree_heads: list[SignedTreeHead] = field(default_factory=list)

    def seen(self, sth: SignedTreeHead) -> None:
        if sth not in self.tree_heads:
            self.tree_heads.append(sth)
            del self.tree_heads[:-MAX_HEADS]

    @classmethod
    def load(cls, path: Path) -> AuditState:
        """The state in ``path`` (a missing file is a first run).

        :raises ClientError: the file is not a state file.
        """
        if not path.exists():
            return cls()
        try:
            raw = json.loads(path.read_text())
            key = raw.get("log_public_key")
            return cls(None if key is None else base64.b64decode(key),
                       [SignedTreeHead.from_bytes(base64.b64decode(h))
                        for h in raw.get("tree_heads", [])])
        except (ValueError, TypeError, AttributeError) as exc:
            raise ClientError(f"unreadable audit state {path}: {exc}") from None

    def save(self, path: Path) -> None:
        data = {"log_public_key": None if self.log_public_key is None
                else base64.b64encode(self.log_public_key).decode(),
                "tree_heads": [base64.b64encode(h.to_bytes()).decode()
                               for h in self.tree_heads]}
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(path)


async def run_audit(source: AuditSource, state: AuditState, *,
                    token: str | None = None) -> AuditReport:
    """Read the whole log and audit it with every head in ``state`` plus the ones seen
    now (which are added to ``state``: save it whatever the outcome, it is evidence).

    :raises TransparencyError: the log broke (BadSignatureError, InconsistentLogError,
        SplitViewError, ...); two signed heads of one size with different roots are
        reported as SplitViewError before any replay; :raises TransportError: it could
        not be read.
    """
    key = state.log_public_key
    if key is None:
        key = state.log_public_key = await source.transparency_key()  # first run: pin
    head, _proof = await source.tree_head(0)
    state.seen(head)
    entries: list[LogEntry] = []
    target = max(h.tree_size for h in state.tree_heads)
    while len(entries) < target:
        page = await source.log_entries(len(entries), PAGE, token=token)
        state.seen(page.tree_head)
        if not page.entries:
            break  # the log hands over fewer entries than a head claims: audit_log says so
        for index, entry in page.entries:
            if index != len(entries):
                raise InconsistentLogError(
                    f"the log answered entry {index} where {len(entries)} was asked for")
            entries.append(entry)
        target = max(target, page.tree_head.tree_size)
    _check_equivocation(key, state.tree_heads)
    return audit_log(key, entries, state.tree_heads)


def _check_equivocation(key: bytes, heads: list[SignedTreeHead]) -> None:
    """Raise SplitViewError if two of ``heads``, both signed by the log, give one size
    two roots. :func:`audit_log` would stop at the first head the entries contradict,
    which names the break but not the strongest evidence of it: two signed roots for
    one size need no replay to prove that the log equivocated (a fork or a rewrite)."""
    by_size: dict[int, SignedTreeHead] = {}
    for sth in heads:
        sth.verify(key)  # a head the log did not sign proves nothing
        other = by_size.setdefault(sth.tree_size, sth)
        if other.root_hash != sth.root_hash:
            raise SplitViewError(f"two roots signed for size {sth.tree_size}", other, sth)
