"""KeyPackages (RFC 9420 §10): a client's signed offer to be added to groups.

Wire forms :class:`KeyPackage` and :class:`KeyPackageTBS`, plus
:func:`check_key_package_shape`, the §10.1 checks that need neither keys nor a group.
Signature, cipher-suite and leaf-node validation belong to the caller that has them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from letterlock.codec import Reader, Struct, Writer

from ._wire import known_or_int
from .constants import CipherSuiteId, LeafNodeSource, ProtocolVersion
from .errors import InvalidMessageError
from .extensions import Extension, check_unique, pull_extensions, push_extensions
from .leaf_node import LeafNode, check_leaf_node_source


@dataclass(frozen=True, slots=True)
class KeyPackageTBS(Struct):
    """What a KeyPackage's signature covers (§10)::

        struct {
            ProtocolVersion version;
            CipherSuite cipher_suite;
            HPKEPublicKey init_key;
            LeafNode leaf_node;
            Extension extensions<V>;
        } KeyPackageTBS;
    """

    version: int
    cipher_suite: int
    init_key: bytes
    leaf_node: LeafNode
    extensions: tuple[Extension, ...] = ()

    def signed(self, signature: bytes) -> KeyPackage:
        """The KeyPackage carrying ``signature`` over this TBS."""
        return KeyPackage(self.version, self.cipher_suite, self.init_key, self.leaf_node,
                          self.extensions, signature)

    def push(self, w: Writer) -> None:
        w.push_uint16(self.version)
        w.push_uint16(self.cipher_suite)
        w.push_opaque(self.init_key)
        self.leaf_node.push(w)
        push_extensions(w, self.extensions)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(known_or_int(ProtocolVersion, r.pull_uint16()),
                   known_or_int(CipherSuiteId, r.pull_uint16()),
                   r.pull_opaque(), LeafNode.pull(r), pull_extensions(r))


@dataclass(frozen=True, slots=True)
class KeyPackage(Struct):
    """A KeyPackage (§10)::

        struct {
            ProtocolVersion version;
            CipherSuite cipher_suite;
            HPKEPublicKey init_key;
            LeafNode leaf_node;
            Extension extensions<V>;
            /* SignWithLabel(., "KeyPackageTBS", KeyPackageTBS) */
            opaque signature<V>;
        } KeyPackage;

    ``version`` and ``cipher_suite`` are kept as sent (ints; known values become enum
    members): which ones are acceptable is decided against the group, not by the codec.
    """

    version: int
    cipher_suite: int
    init_key: bytes
    leaf_node: LeafNode
    extensions: tuple[Extension, ...]
    signature: bytes

    @property
    def tbs(self) -> KeyPackageTBS:
        """What :attr:`signature` covers."""
        return KeyPackageTBS(self.version, self.cipher_suite, self.init_key, self.leaf_node,
                             self.extensions)

    def push(self, w: Writer) -> None:
        self.tbs.push(w)
        w.push_opaque(self.signature)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        tbs = KeyPackageTBS.pull(r)
        return cls(tbs.version, tbs.cipher_suite, tbs.init_key, tbs.leaf_node, tbs.extensions,
                   r.pull_opaque())


def check_key_package_shape(key_package: KeyPackage) -> None:
    """The §10.1 rules a KeyPackage must meet on its own; raises InvalidMessageError.

    - the version is mls10 (this library speaks no other);
    - the leaf node's source is key_package;
    - the leaf's encryption_key differs from the init_key;
    - neither extension list repeats a type (§13).
    """
    if key_package.version != ProtocolVersion.MLS10:
        raise InvalidMessageError(f"unsupported KeyPackage version {key_package.version}",
                                  "RFC 9420 §10.1")
    check_leaf_node_source(key_package.leaf_node, LeafNodeSource.KEY_PACKAGE, "RFC 9420 §10.1")
    if key_package.leaf_node.encryption_key == key_package.init_key:
        raise InvalidMessageError("init_key equals the leaf's encryption_key", "RFC 9420 §10.1")
    check_unique(key_package.extensions)
    check_unique(key_package.leaf_node.extensions)
