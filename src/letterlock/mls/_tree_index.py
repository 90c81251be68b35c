"""Lookup tables kept beside the ratchet tree's nodes (private to :mod:`.ratchet_tree`).

The uniqueness rules (§7.3, §12.4.2: encryption and signature keys unique) and the
credential-type rules of §7.3 ("supported by all members", "in use by other members")
would each cost a scan of the whole tree per leaf checked, which adds up to seconds for
a large commit at 10,000 members. These tables answer them in O(1) and are updated on
every node write.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

from .leaf_node import LeafNode
from .tree_math import LeafIndex, NodeIndex
from .tree_nodes import ParentNode


class TreeIndex:
    """Encryption key -> node, signature key -> leaf, member and credential counts."""

    __slots__ = ("credentials_in_use", "credentials_supported", "encryption", "members",
                 "signature")

    def __init__(self) -> None:
        self.encryption: dict[bytes, NodeIndex] = {}
        self.signature: dict[bytes, LeafIndex] = {}
        self.members = 0
        # credential type -> number of members whose credential has that type
        self.credentials_in_use: Counter[int] = Counter()
        # credential type -> number of members listing it in capabilities.credentials
        self.credentials_supported: Counter[int] = Counter()

    def copy(self) -> TreeIndex:
        other = TreeIndex()
        other.encryption = self.encryption.copy()
        other.signature = self.signature.copy()
        other.members = self.members
        other.credentials_in_use = self.credentials_in_use.copy()
        other.credentials_supported = self.credentials_supported.copy()
        return other

    def add(self, index: NodeIndex, node: LeafNode | ParentNode) -> None:
        """Record a node just written at ``index``."""
        self.encryption[node.encryption_key] = index
        if isinstance(node, LeafNode):
            self.signature[node.signature_key] = LeafIndex(index >> 1)
            self.members += 1
            self.credentials_in_use[node.credential.credential_type] += 1
            # A set: a capability listed twice still counts as one supporter.
            self.credentials_supported.update(set(node.capabilities.credentials))

    def remove(self, index: NodeIndex, node: LeafNode | ParentNode) -> None:
        """Forget a node about to be overwritten or dropped at ``index``."""
        # An invalid tree may repeat a key; the table then names one holder only, and
        # must not lose that entry when another holder goes.
        if self.encryption.get(node.encryption_key) == index:
            del self.encryption[node.encryption_key]
        if isinstance(node, LeafNode):
            if self.signature.get(node.signature_key) == index >> 1:
                del self.signature[node.signature_key]
            self.members -= 1
            _decrement(self.credentials_in_use, (node.credential.credential_type,))
            _decrement(self.credentials_supported, set(node.capabilities.credentials))


def _decrement(counter: Counter[int], keys: Collection[int]) -> None:
    for key in keys:
        counter[key] -= 1
        if counter[key] <= 0:
            del counter[key]
