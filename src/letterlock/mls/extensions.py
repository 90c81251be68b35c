"""Extensions (RFC 9420 §13): the generic container and extension lists.

Typed views of individual extensions (ratchet_tree, external_pub, ...) live next to the
code that uses them; here is only the wire container that every structure shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

from letterlock.codec import Reader, Struct, Writer

from .errors import InvalidMessageError


@dataclass(frozen=True, slots=True)
class Extension(Struct):
    """``struct { ExtensionType extension_type; opaque extension_data<V>; } Extension``."""

    extension_type: int
    extension_data: bytes

    def push(self, w: Writer) -> None:
        w.push_uint16(self.extension_type)
        w.push_opaque(self.extension_data)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_uint16(), r.pull_opaque())


def push_extensions(w: Writer, extensions: Sequence[Extension]) -> None:
    """``Extension extensions<V>``."""
    w.push_vector(extensions, lambda w2, e: e.push(w2))


def pull_extensions(r: Reader) -> tuple[Extension, ...]:
    """``Extension extensions<V>`` (wire only: duplicates are checked by :func:`check_unique`)."""
    return tuple(r.pull_vector(Extension.pull))


def check_unique(extensions: Sequence[Extension]) -> None:
    """§13: an extension list MUST NOT contain more than one extension of any type."""
    seen: set[int] = set()
    for ext in extensions:
        if ext.extension_type in seen:
            raise InvalidMessageError(
                f"duplicate extension type 0x{ext.extension_type:04x}", "RFC 9420 §13"
            )
        seen.add(ext.extension_type)


def find_extension(extensions: Sequence[Extension], extension_type: int) -> Extension | None:
    """The extension of that type, or None."""
    for ext in extensions:
        if ext.extension_type == extension_type:
            return ext
    return None
