"""Checkers for the official RFC 9420 interoperability vectors (mlswg/mls-implementations).

One module per vector file, each with ``check(case) -> None`` for one JSON test case.
A checker raises :class:`VectorMismatch` naming the field that differs, so a failure
says what broke, not just that something did. These modules take decoded JSON and do
no I/O; :mod:`letterlock.mls.conformance` reads the files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Case = Mapping[str, Any]


class VectorMismatch(AssertionError):
    """A computed value differs from the vector's."""

    def __init__(self, field: str, expected: object, got: object) -> None:
        def show(v: object) -> str:
            return v.hex() if isinstance(v, bytes | bytearray) else repr(v)

        super().__init__(f"{field}: expected {show(expected)}, got {show(got)}")
        self.field = field


def unhex(value: str | None) -> bytes:
    """Vector hex string to bytes (``None`` becomes empty)."""
    return bytes.fromhex(value) if value else b""


def expect(field: str, expected: object, got: object) -> None:
    """Raise VectorMismatch unless ``expected == got``."""
    if expected != got:
        raise VectorMismatch(field, expected, got)


__all__ = ["Case", "VectorMismatch", "expect", "unhex"]
