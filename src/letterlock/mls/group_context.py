"""The GroupContext (RFC 9420 §8.1): the summary of a group's state every member agrees on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from letterlock.codec import CachedStruct, Reader, Writer

from .extensions import Extension, pull_extensions, push_extensions


@dataclass(frozen=True, slots=True)
class GroupContext(CachedStruct):
    """::

        struct {
            ProtocolVersion version = mls10;
            CipherSuite cipher_suite;
            opaque group_id<V>;
            uint64 epoch;
            opaque tree_hash<V>;
            opaque confirmed_transcript_hash<V>;
            Extension extensions<V>;
        } GroupContext;
    """

    version: int
    cipher_suite: int
    group_id: bytes
    epoch: int
    tree_hash: bytes
    confirmed_transcript_hash: bytes
    extensions: tuple[Extension, ...] = ()

    # Encoded once (CachedStruct): every signature and its verification covers the
    # context (§6.1), and so do the key schedule and the path secrets' HPKE context.
    def push_fields(self, w: Writer) -> None:
        w.push_uint16(self.version)
        w.push_uint16(self.cipher_suite)
        w.push_opaque(self.group_id)
        w.push_uint64(self.epoch)
        w.push_opaque(self.tree_hash)
        w.push_opaque(self.confirmed_transcript_hash)
        push_extensions(w, self.extensions)

    @classmethod
    def pull_fields(cls, r: Reader) -> Self:
        return cls(
            version=r.pull_uint16(),
            cipher_suite=r.pull_uint16(),
            group_id=r.pull_opaque(),
            epoch=r.pull_uint64(),
            tree_hash=r.pull_opaque(),
            confirmed_transcript_hash=r.pull_opaque(),
            extensions=pull_extensions(r),
        )
