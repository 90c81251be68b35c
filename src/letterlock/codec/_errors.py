"""Errors of the codec layer."""

from __future__ import annotations


class CodecError(Exception):
    """Base of every codec error."""


class DecodeError(CodecError, ValueError):
    """Received bytes are not the canonical encoding of the expected structure.

    This is always the peer's fault (invalid input). ``position`` is the byte offset in
    the input where the problem was found.
    """

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(f"{message} (at byte {position})")
        self.reason = message
        self.position = position


class EncodeError(CodecError, ValueError):
    """A value cannot be encoded (out of range or wrong size): a caller's mistake."""
