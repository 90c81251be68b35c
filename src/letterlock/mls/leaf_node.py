"""Leaf nodes (RFC 9420 §7.2): a member's keys, credential, capabilities and signature.

Wire forms only: :class:`LeafNode` and the :class:`LeafNodeTBS` its signature covers.
The signature is made and checked with ``SignWithLabel(., "LeafNodeTBS", ...)`` by the
code that owns the keys; the §7.3 validation needs the group and lives with the tree.
Code points in the capability lists and ``Lifetime`` values are kept as sent: the codec
judges only the shape of the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Self

from letterlock.codec import CachedStruct, Reader, Struct, Writer, encode_varint

from ._wire import pull_tag, pull_uint16s, push_uint16s, require
from .constants import LeafNodeSource
from .credentials import Credential
from .errors import InvalidMessageError
from .extensions import Extension, pull_extensions, push_extensions


@dataclass(frozen=True, slots=True)
class Capabilities(Struct):
    """What a client supports (§7.2)::

        struct {
            ProtocolVersion versions<V>;
            CipherSuite cipher_suites<V>;
            ExtensionType extensions<V>;
            ProposalType proposals<V>;
            CredentialType credentials<V>;
        } Capabilities;

    All lists are uint16 code points, kept as ints: they may hold GREASE values (§13.5)
    and types this library does not implement.
    """

    versions: tuple[int, ...] = ()
    cipher_suites: tuple[int, ...] = ()
    extensions: tuple[int, ...] = ()
    proposals: tuple[int, ...] = ()
    credentials: tuple[int, ...] = ()

    def push(self, w: Writer) -> None:
        for values in (self.versions, self.cipher_suites, self.extensions, self.proposals,
                       self.credentials):
            push_uint16s(w, values)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(pull_uint16s(r), pull_uint16s(r), pull_uint16s(r), pull_uint16s(r),
                   pull_uint16s(r))


@dataclass(frozen=True, slots=True)
class Lifetime(Struct):
    """A KeyPackage leaf's validity period in seconds since the Unix epoch (§7.2)::

        struct {
            uint64 not_before;
            uint64 not_after;
        } Lifetime;
    """

    not_before: int
    not_after: int

    def push(self, w: Writer) -> None:
        w.push_uint64(self.not_before)
        w.push_uint64(self.not_after)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_uint64(), r.pull_uint64())


def _check_source(source: LeafNodeSource, lifetime: Lifetime | None,
                  parent_hash: bytes | None) -> None:
    require((lifetime is not None) == (source == LeafNodeSource.KEY_PACKAGE),
            "a leaf node has a lifetime exactly when its source is key_package")
    require((parent_hash is not None) == (source == LeafNodeSource.COMMIT),
            "a leaf node has a parent_hash exactly when its source is commit")


class _Content(NamedTuple):
    """The fields a LeafNode and its LeafNodeTBS share, in wire order."""

    encryption_key: bytes
    signature_key: bytes
    credential: Credential
    capabilities: Capabilities
    leaf_node_source: LeafNodeSource
    lifetime: Lifetime | None
    parent_hash: bytes | None
    extensions: tuple[Extension, ...]


def _push_content(w: Writer, n: LeafNode | LeafNodeTBS) -> None:
    w.push_opaque(n.encryption_key)
    w.push_opaque(n.signature_key)
    n.credential.push(w)
    n.capabilities.push(w)
    w.push_uint8(n.leaf_node_source)
    # The constructors guarantee that exactly the source's own field is present.
    if n.lifetime is not None:
        n.lifetime.push(w)
    if n.parent_hash is not None:
        w.push_opaque(n.parent_hash)
    push_extensions(w, n.extensions)


def _pull_content(r: Reader) -> _Content:
    encryption_key = r.pull_opaque()
    signature_key = r.pull_opaque()
    credential = Credential.pull(r)
    capabilities = Capabilities.pull(r)
    source = pull_tag(r, LeafNodeSource, "leaf_node_source", width=1)
    lifetime = Lifetime.pull(r) if source == LeafNodeSource.KEY_PACKAGE else None
    parent_hash = r.pull_opaque() if source == LeafNodeSource.COMMIT else None
    return _Content(encryption_key, signature_key, credential, capabilities, source,
                    lifetime, parent_hash, pull_extensions(r))


@dataclass(frozen=True, slots=True, kw_only=True)
class LeafNode(CachedStruct):
    """A leaf of the ratchet tree (§7.2)::

        struct {
            HPKEPublicKey encryption_key;
            SignaturePublicKey signature_key;
            Credential credential;
            Capabilities capabilities;

            LeafNodeSource leaf_node_source;
            select (LeafNode.leaf_node_source) {
                case key_package:
                    Lifetime lifetime;
                case update:
                    struct{};
                case commit:
                    opaque parent_hash<V>;
            };

            Extension extensions<V>;
            /* SignWithLabel(., "LeafNodeTBS", LeafNodeTBS) */
            opaque signature<V>;
        } LeafNode;

    ``lifetime`` is set exactly for the key_package source and ``parent_hash`` exactly
    for the commit source; anything else raises UsageError on construction.
    """

    encryption_key: bytes
    signature_key: bytes
    credential: Credential
    capabilities: Capabilities
    leaf_node_source: LeafNodeSource
    lifetime: Lifetime | None = None
    parent_hash: bytes | None = None
    extensions: tuple[Extension, ...] = ()
    signature: bytes

    def __post_init__(self) -> None:
        _check_source(self.leaf_node_source, self.lifetime, self.parent_hash)

    def tbs(self, group_id: bytes | None = None, leaf_index: int | None = None) -> LeafNodeTBS:
        """What this leaf's signature covers.

        ``group_id`` and ``leaf_index`` are required for the update and commit sources
        and must be None for key_package (§7.2).
        """
        return LeafNodeTBS(**_Content(
            self.encryption_key, self.signature_key, self.credential, self.capabilities,
            self.leaf_node_source, self.lifetime, self.parent_hash, self.extensions,
        )._asdict(), group_id=group_id, leaf_index=leaf_index)

    def tbs_bytes(self, group_id: bytes | None = None, leaf_index: int | None = None) -> bytes:
        """``self.tbs(group_id, leaf_index).to_bytes()``, taken from this leaf's cached
        encoding: the TBS is the leaf's content without the signature, then the
        group_id and leaf_index of update and commit leaves (§7.2). Verifying every
        leaf of a received tree needs it once per leaf."""
        placed = self.leaf_node_source != LeafNodeSource.KEY_PACKAGE
        if (group_id is not None) != placed or (leaf_index is not None) != placed:
            return self.tbs(group_id, leaf_index).to_bytes()  # raises as tbs() does
        encoding = self.to_bytes()
        signature_field = len(encode_varint(len(self.signature))) + len(self.signature)
        w = Writer()
        w.push_bytes(encoding[:len(encoding) - signature_field])
        if group_id is not None and leaf_index is not None:
            w.push_opaque(group_id)
            w.push_uint32(leaf_index)
        return w.data

    # Encoded once (CachedStruct): a leaf is encoded for its tree hash, for every
    # ratchet_tree sent in a Welcome or GroupInfo, and for stored state.
    def push_fields(self, w: Writer) -> None:
        _push_content(w, self)
        w.push_opaque(self.signature)

    @classmethod
    def pull_fields(cls, r: Reader) -> Self:
        content = _pull_content(r)
        return cls(**content._asdict(), signature=r.pull_opaque())


@dataclass(frozen=True, slots=True, kw_only=True)
class LeafNodeTBS(Struct):
    """The to-be-signed form of a leaf node (§7.2)::

        struct {
            HPKEPublicKey encryption_key;
            SignaturePublicKey signature_key;
            Credential credential;
            Capabilities capabilities;

            LeafNodeSource leaf_node_source;
            select (LeafNodeTBS.leaf_node_source) {
                case key_package:
                    Lifetime lifetime;
                case update:
                    struct{};
                case commit:
                    opaque parent_hash<V>;
            };

            Extension extensions<V>;

            select (LeafNodeTBS.leaf_node_source) {
                case key_package:
                    struct{};
                case update:
                    opaque group_id<V>;
                    uint32 leaf_index;
                case commit:
                    opaque group_id<V>;
                    uint32 leaf_index;
            };
        } LeafNodeTBS;

    ``group_id`` and ``leaf_index`` bind update and commit leaves to one place in one
    group; they are set exactly for those two sources.
    """

    encryption_key: bytes
    signature_key: bytes
    credential: Credential
    capabilities: Capabilities
    leaf_node_source: LeafNodeSource
    lifetime: Lifetime | None = None
    parent_hash: bytes | None = None
    extensions: tuple[Extension, ...] = ()
    group_id: bytes | None = None
    leaf_index: int | None = None

    def __post_init__(self) -> None:
        _check_source(self.leaf_node_source, self.lifetime, self.parent_hash)
        placed = self.leaf_node_source != LeafNodeSource.KEY_PACKAGE
        require((self.group_id is not None) == placed and (self.leaf_index is not None) == placed,
                "group_id and leaf_index are set exactly for update and commit leaves")

    def signed(self, signature: bytes) -> LeafNode:
        """The leaf node carrying ``signature`` over this TBS."""
        return LeafNode(
            encryption_key=self.encryption_key, signature_key=self.signature_key,
            credential=self.credential, capabilities=self.capabilities,
            leaf_node_source=self.leaf_node_source, lifetime=self.lifetime,
            parent_hash=self.parent_hash, extensions=self.extensions, signature=signature,
        )

    def push(self, w: Writer) -> None:
        _push_content(w, self)
        if self.group_id is not None and self.leaf_index is not None:
            w.push_opaque(self.group_id)
            w.push_uint32(self.leaf_index)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        content = _pull_content(r)
        if content.leaf_node_source == LeafNodeSource.KEY_PACKAGE:
            return cls(**content._asdict())
        return cls(**content._asdict(), group_id=r.pull_opaque(), leaf_index=r.pull_uint32())


def check_leaf_node_source(leaf: LeafNode, expected: LeafNodeSource, rule: str) -> None:
    """Raise InvalidMessageError unless ``leaf`` came from ``expected``.

    The RFC fixes the source by where a leaf travels: key_package in a KeyPackage
    (§10.1), update in an Update proposal (§12.1.2), commit in an UpdatePath (§12.4.2).
    ``rule`` names the section the caller enforces.
    """
    if leaf.leaf_node_source != expected:
        raise InvalidMessageError(
            f"leaf_node_source is {LeafNodeSource(leaf.leaf_node_source).name.lower()}, "
            f"expected {LeafNodeSource(expected).name.lower()}", rule)
