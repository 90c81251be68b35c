"""TreeKEM (RFC 9420 §7.4-§7.6, §7.9, §12.4.1-2): making and processing UpdatePaths.

A committer replaces its leaf and every node of its filtered direct path with fresh
keys, and encrypts each new path secret to the resolution of the copath child below
it. Every other member decrypts the one secret meant for its subtree and derives the
rest up to the root, and one step beyond: the commit secret.

::

    path_secret[0]   = random                      (first node of the filtered path)
    path_secret[n]   = DeriveSecret(path_secret[n-1], "path")
    node key pair[n] = DeriveKeyPair(DeriveSecret(path_secret[n], "node"))
    commit_secret    = DeriveSecret(path_secret[last], "path")

Both directions run in two steps, because the HPKE context of the path secrets is the
*provisional* GroupContext, whose tree hash covers the path itself (§12.4.1, §12.4.2):

- committer: :func:`generate_update_path` writes the new path and leaf into a staged
  tree and returns a :class:`CommitPath`; the caller hashes the tree, builds the
  GroupContext and calls :meth:`CommitPath.encrypt`.
- receiver: :func:`merge_update_path` validates the public part and writes it into a
  staged tree; the caller builds the GroupContext the same way and calls
  :func:`decrypt_update_path`.

The secrets a member holds are a :class:`PrivateTree`: the HPKE private keys of its leaf
and of the parents above it that it knows, keyed by public key. Keys are looked up by
the public key the tree shows, so a key whose node was blanked or replaced can never be
used again; :meth:`PrivateTree.pruned` drops them. Path secrets themselves are not kept:
§7.5 requires deleting them once their keys are derived.

Errors: :class:`InvalidUpdatePathError` (and :class:`PathKeyMismatchError`) for a bad
path; the leaf and parent-hash errors of :mod:`letterlock.mls.tree_validation`;
:class:`~letterlock.crypto.DecryptError` (opaque) when a path secret does not decrypt.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Self

from letterlock.codec import DecodeError, Reader, Struct, Writer
from letterlock.crypto import CipherSuite, RandomSource
from letterlock.crypto.signature import PrivateKey

from .constants import LeafNodeSource
from .errors import InvalidMessageError, UsageError
from .extensions import Extension
from .key_schedule import CommitSecret
from .leaf_node import LeafNode, LeafNodeTBS
from .ratchet_tree import PublicTree
from .tree_math import LeafIndex, NodeIndex, common_ancestor, direct_path, leaf_to_node
from .tree_nodes import HPKECiphertext, UpdatePath, UpdatePathNode
from .tree_validation import (
    CredentialValidator,
    DuplicateKeyError,
    ParentHashError,
    validate_leaf_node,
)

# §5.1.3 / §7.6: the EncryptWithLabel label of path secrets.
_UPDATE_PATH_LABEL = "UpdatePathNode"


class InvalidUpdatePathError(InvalidMessageError):
    """An UpdatePath does not fit the tree: wrong number of nodes or ciphertexts (§7.6)."""


class PathKeyMismatchError(InvalidUpdatePathError):
    """A public key derived from a path secret differs from the one sent (§7.5 step 6:
    "Verify that the derived public keys are the same as the corresponding public keys
    sent in the UpdatePath"), or from the tree's when joining (§12.4.3.1)."""


@dataclass(frozen=True, slots=True)
class PrivateTree(Struct):
    """A member's private ratchet-tree state: plain data, safe to serialise.

    ``keys`` maps an HPKE public key to its private key, for the member's leaf and the
    parent nodes on its direct path it knows (the tree invariant, §4.2). Treat it as
    immutable: every operation returns a new PrivateTree, so a rejected commit leaves
    the old state as it was. Wire form (our own, for local storage)::

        struct { opaque public_key<V>; opaque private_key<V>; } KeyEntry;
        struct { uint32 leaf_index; KeyEntry keys<V>; } PrivateTree;  /* keys sorted */
    """

    leaf_index: LeafIndex
    keys: Mapping[bytes, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        # An own copy, so no caller's dict is shared; kept a plain dict (plain data for
        # storage and copying). Never mutated here: operations return new states.
        object.__setattr__(self, "keys", dict(self.keys))

    def private_key(self, public_key: bytes) -> bytes | None:
        """The private key for a public key, if this member holds it."""
        return self.keys.get(public_key)

    def pruned(self, tree: PublicTree) -> PrivateTree:
        """Only the keys still shown on this member's leaf and direct path in ``tree``
        (§7.5: outdated key pairs MUST be deleted once replaced)."""
        start = leaf_to_node(self.leaf_index)
        live: set[bytes] = set()
        for index in (start, *direct_path(start, tree.n_leaves)):
            node = tree.node(index)
            if node is not None:
                live.add(node.encryption_key)
        return PrivateTree(self.leaf_index,
                           {pub: priv for pub, priv in self.keys.items() if pub in live})

    def push(self, w: Writer) -> None:
        w.push_uint32(self.leaf_index)
        w.push_vector(sorted(self.keys.items()), _push_key_entry)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        index = LeafIndex(r.pull_uint32())
        start = r.position
        entries = r.pull_vector(lambda r2: (r2.pull_opaque(), r2.pull_opaque()))
        if [pub for pub, _ in entries] != sorted({pub for pub, _ in entries}):
            raise DecodeError("private tree keys not sorted and unique", start)
        return cls(index, dict(entries))


def _push_key_entry(w: Writer, entry: tuple[bytes, bytes]) -> None:
    w.push_opaque(entry[0])
    w.push_opaque(entry[1])


@dataclass(frozen=True, slots=True)
class CommitPath:
    """A committer's new path, written into its staged tree, ready to be encrypted.

    ``path`` pairs each filtered-direct-path node with its copath child; ``path_secrets``
    and ``public_keys`` run bottom up along it. ``private_tree`` is the committer's state
    after the commit.
    """

    leaf_index: LeafIndex
    leaf_node: LeafNode
    path: tuple[tuple[NodeIndex, NodeIndex], ...]
    public_keys: tuple[bytes, ...]
    path_secrets: tuple[bytes, ...] = field(repr=False)
    commit_secret: CommitSecret = field(repr=False)
    private_tree: PrivateTree = field(repr=False)

    def encrypt(self, tree: PublicTree, group_context: bytes, rng: RandomSource, *,
                added: Collection[int] = ()) -> UpdatePath:
        """The UpdatePath: each path secret encrypted to the resolution of its copath
        child (§7.5), under the provisional GroupContext (§12.4.1).

        :param tree: the staged tree this path was generated on, unchanged since.
        :param group_context: the encoded provisional GroupContext (new epoch, tree hash
            of ``tree``, old confirmed transcript hash, new extensions).
        :param added: leaves added by this commit; §7.6 "MUST exclude all new leaf
            nodes": joiners get their path secret through the Welcome instead.
        """
        suite = tree.suite
        # Every ciphertext of the path shares the label and context: one batch, in the
        # order of the path nodes and of each resolution.
        recipients: list[tuple[bytes, bytes]] = []
        counts: list[int] = []
        for (_, copath), secret in zip(self.path, self.path_secrets, strict=True):
            resolution = tree.resolution(copath, added)
            for r in resolution:
                recipient = tree.node(r)
                if recipient is None:  # a resolution lists non-blank nodes only
                    raise UsageError(f"node {r} of a resolution is blank")
                recipients.append((recipient.encryption_key, secret))
            counts.append(len(resolution))
        sealed = iter(suite.encrypt_with_label_each(recipients, _UPDATE_PATH_LABEL,
                                                    group_context, rng))
        nodes = tuple(
            UpdatePathNode(public_key, tuple(HPKECiphertext(*next(sealed))
                                             for _ in range(count)))
            for public_key, count in zip(self.public_keys, counts, strict=True))
        return UpdatePath(self.leaf_node, nodes)

    def path_secret_for(self, joiner: LeafIndex) -> bytes:
        """The path secret for a new member's Welcome (§12.4.3.1, the ``path_secret`` of
        its GroupSecrets): the one at the lowest common ancestor of the committer's and
        the joiner's leaves.

        :raises UsageError: that ancestor is not on the filtered direct path (the
            joiner's leaf is blank, or it is the committer).
        """
        ancestor = common_ancestor(leaf_to_node(self.leaf_index), leaf_to_node(joiner))
        for (p, _), secret in zip(self.path, self.path_secrets, strict=True):
            if p == ancestor:
                return secret
        raise UsageError(f"leaf {joiner} shares no filtered-path node with the committer")


@dataclass(frozen=True, slots=True)
class ReceivedPath:
    """What a member learns from an UpdatePath: the secret it decrypted, the commit
    secret, and its private state for the new tree."""

    path_secret: bytes = field(repr=False)
    commit_secret: CommitSecret = field(repr=False)
    private_tree: PrivateTree = field(repr=False)


def generate_update_path(
    tree: PublicTree, leaf_index: LeafIndex, *, group_id: bytes,
    signature_private_key: PrivateKey, rng: RandomSource, leaf_template: LeafNode | None = None,
) -> CommitPath:
    """Refresh the committer's leaf and filtered direct path in ``tree`` (§7.4, §7.5).

    ``tree`` is the staged tree with the commit's proposals already applied (§12.4.1);
    for an external commit, with the committer's slot from
    :meth:`PublicTree.assign_free_leaf`.
    It is modified: the direct path is blanked, the filtered path gets the new keys and
    parent hashes (§7.9), and the leaf becomes a commit-source leaf signed over them.

    :param leaf_template: where the new leaf's signature key, credential, capabilities
        and extensions come from (default: the current leaf; required for an external
        commit, whose leaf is still blank).
    :param signature_private_key: must match the template's signature key.
    :raises UsageError: no template, or a signature key that does not match.
    """
    suite = tree.suite
    template = leaf_template if leaf_template is not None else tree.leaf(leaf_index)
    if template is None:
        raise UsageError(f"leaf {leaf_index} is blank: pass a leaf_template")
    if suite.signature_public_key(signature_private_key) != template.signature_key:
        raise UsageError("signature_private_key does not match the leaf's signature key")

    pairs = tree.filtered_direct_path_pairs(leaf_index)
    secrets: list[bytes] = []
    secret = rng.random_bytes(suite.n_h)  # §7.4: "path_secret[0] is sampled at random"
    for _ in pairs:
        secrets.append(secret)
        secret = suite.derive_secret(secret, "path")
    # §12.4.1: commit_secret is "path_secret[n+1]", one step past the last node.
    commit_secret = CommitSecret(secret)
    key_pairs = [_node_key_pair(suite, s) for s in secrets]
    public_keys = [pub for _, pub in key_pairs]
    leaf_private, leaf_public = suite.hpke.generate_key_pair(rng)

    leaf_parent_hash, node_parent_hashes = tree.path_parent_hashes(leaf_index, public_keys)
    tbs = LeafNodeTBS(
        encryption_key=leaf_public, signature_key=template.signature_key,
        credential=template.credential, capabilities=template.capabilities,
        leaf_node_source=LeafNodeSource.COMMIT, parent_hash=leaf_parent_hash,
        extensions=template.extensions, group_id=group_id, leaf_index=leaf_index,
    )
    leaf = tbs.signed(suite.sign_with_label(signature_private_key, "LeafNodeTBS",
                                            tbs.to_bytes()))
    tree.merge_path(leaf_index, leaf, public_keys, node_parent_hashes)

    keys = {leaf_public: leaf_private, **{pub: priv for priv, pub in key_pairs}}
    return CommitPath(
        leaf_index=leaf_index, leaf_node=leaf, path=tuple(pairs),
        public_keys=tuple(public_keys), path_secrets=tuple(secrets),
        commit_secret=commit_secret, private_tree=PrivateTree(leaf_index, keys),
    )


def merge_update_path(
    tree: PublicTree, sender: LeafIndex, path: UpdatePath, *, group_id: bytes,
    credential_validator: CredentialValidator, added: Collection[int] = (),
    group_extensions: Sequence[Extension] = (), now: int | None = None,
) -> None:
    """Check an UpdatePath's public part and write it into ``tree`` (§7.5, §12.4.2).

    ``tree`` is the staged tree with the commit's proposals applied (and, for an
    external commit, the sender's slot from :meth:`PublicTree.assign_free_leaf`).
    Nothing is written unless every check passes. Checks, in order:

    - the leaf node is valid with source commit (§7.3, §12.4.2), its encryption key
      new, its credential accepted;
    - one UpdatePathNode per filtered-direct-path node, each with one ciphertext per
      member of the copath child's resolution without ``added`` (§7.6);
    - no public key of the path already appears in the tree (§12.4.2);
    - the leaf's parent_hash is the one the new path yields (§7.9.2).

    :raises InvalidMessageError: a subclass naming the failed rule.
    """
    validate_leaf_node(tree, path.leaf_node, sender, group_id=group_id,
                       credential_validator=credential_validator,
                       source=LeafNodeSource.COMMIT, group_extensions=group_extensions,
                       now=now)
    pairs = tree.filtered_direct_path_pairs(sender)
    if len(path.nodes) != len(pairs):
        raise InvalidUpdatePathError(f"{len(path.nodes)} path nodes for a filtered direct "
                                     f"path of {len(pairs)}", "RFC 9420 §7.6")
    for (_, copath), node in zip(pairs, path.nodes, strict=True):
        expected = len(tree.resolution(copath, added))
        if len(node.encrypted_path_secret) != expected:
            raise InvalidUpdatePathError(
                f"{len(node.encrypted_path_secret)} ciphertexts for a resolution of "
                f"{expected} at node {copath}", "RFC 9420 §7.6")

    public_keys = [node.encryption_key for node in path.nodes]
    seen = {path.leaf_node.encryption_key}
    for key in public_keys:
        if key in seen or tree.find_encryption_key(key) is not None:
            raise DuplicateKeyError("an UpdatePath key already appears in the tree",
                                    "RFC 9420 §12.4.2")
        seen.add(key)

    leaf_parent_hash, node_parent_hashes = tree.path_parent_hashes(sender, public_keys)
    if path.leaf_node.parent_hash != leaf_parent_hash:
        raise ParentHashError("the committer's leaf parent_hash does not match its path",
                              "RFC 9420 §7.9.2")
    tree.merge_path(sender, path.leaf_node, public_keys, node_parent_hashes)


def decrypt_update_path(
    tree: PublicTree, private: PrivateTree, sender: LeafIndex, path: UpdatePath,
    group_context: bytes, *, added: Collection[int] = (),
) -> ReceivedPath:
    """Decrypt this member's path secret and derive the rest (§7.5, second half).

    :param tree: the staged tree after :func:`merge_update_path`.
    :param private: this member's private state before the commit.
    :param group_context: the encoded provisional GroupContext (§12.4.2).
    :param added: the leaves added by the commit (as for the sender).
    :raises PathKeyMismatchError: a derived public key differs from the path's.
    :raises InvalidUpdatePathError: the path does not fit the tree.
    :raises DecryptError: the ciphertext for us does not open.
    :raises UsageError: we are the sender, or ``private`` does not belong to this tree.
    """
    suite = tree.suite
    me = private.leaf_index
    if me == sender:
        raise UsageError("the committer uses its CommitPath, not its own UpdatePath")
    pairs = tree.filtered_direct_path_pairs(sender)
    if len(path.nodes) != len(pairs):
        raise InvalidUpdatePathError("path does not match the filtered direct path",
                                     "RFC 9420 §7.6")
    # §7.5: "Identify a node in the filtered direct path for which the recipient is in
    # the subtree of the non-updated child": the first whose copath child is above us.
    start = leaf_to_node(me)
    above_me = set(direct_path(start, tree.n_leaves)) | {start}
    try:
        k = next(i for i, (_, copath) in enumerate(pairs) if copath in above_me)
    except StopIteration:
        raise UsageError(f"leaf {me} is below no node of the sender's path") from None

    # "Identify a node in the resolution of the copath node for which the recipient
    # has a private key" and decrypt the ciphertext at its position.
    resolution = tree.resolution(pairs[k][1], added)
    ciphertexts = path.nodes[k].encrypted_path_secret
    if len(ciphertexts) != len(resolution):
        raise InvalidUpdatePathError("ciphertext count differs from the resolution",
                                     "RFC 9420 §7.6")
    position, private_key = _held_key(tree, private, resolution)
    ciphertext = ciphertexts[position]
    secret = suite.decrypt_with_label(private_key, _UPDATE_PATH_LABEL, group_context,
                                      ciphertext.kem_output, ciphertext.ciphertext)

    decrypted = secret
    new_keys: dict[bytes, bytes] = {}
    for j in range(k, len(pairs)):
        node_private, node_public = _node_key_pair(suite, secret)
        if node_public != path.nodes[j].encryption_key:
            raise PathKeyMismatchError(f"derived key for node {pairs[j][0]} differs from "
                                       "the path's", "RFC 9420 §7.5")
        new_keys[node_public] = node_private
        secret = suite.derive_secret(secret, "path")
    updated = PrivateTree(me, {**private.keys, **new_keys}).pruned(tree)
    return ReceivedPath(decrypted, CommitSecret(secret), updated)


def private_tree_for_joiner(
    tree: PublicTree, leaf_index: LeafIndex, leaf_private_key: bytes, *,
    committer: LeafIndex | None = None, path_secret: bytes | None = None,
) -> PrivateTree:
    """A new member's private state from its Welcome (§12.4.3.1).

    With a ``path_secret`` (GroupSecrets.path_secret), it seeds the lowest common
    ancestor of the joiner's and the committer's (GroupInfo.signer's) leaves; each
    further path secret goes to the next node of the committer's filtered direct path
    up to the root. "The private key MUST be the private key that corresponds to the
    public key in the node."

    :raises PathKeyMismatchError: a derived key is not the tree's.
    :raises InvalidUpdatePathError: the common ancestor is not on the committer's path.
    :raises UsageError: the leaf is blank or its private key does not match.
    """
    suite = tree.suite
    leaf = tree.leaf(leaf_index)
    if leaf is None or suite.hpke.public_key(leaf_private_key) != leaf.encryption_key:
        raise UsageError(f"leaf {leaf_index} does not hold this private key's public key")
    keys = {leaf.encryption_key: leaf_private_key}
    if path_secret is None:
        return PrivateTree(leaf_index, keys)
    if committer is None:
        raise UsageError("a path secret needs the committer's leaf index")
    ancestor = common_ancestor(leaf_to_node(leaf_index), leaf_to_node(committer))
    path = tree.filtered_direct_path(committer)
    if ancestor not in path:
        raise InvalidUpdatePathError(f"common ancestor {ancestor} is not on the committer's "
                                     "filtered direct path", "RFC 9420 §12.4.3.1")
    secret = path_secret
    for p in path[path.index(ancestor):]:
        node_private, node_public = _node_key_pair(suite, secret)
        node = tree.node(p)
        if node is None or node.encryption_key != node_public:
            raise PathKeyMismatchError(f"path secret does not yield the key of node {p}",
                                       "RFC 9420 §12.4.3.1")
        keys[node_public] = node_private
        secret = suite.derive_secret(secret, "path")
    return PrivateTree(leaf_index, keys)


def private_tree_from_path_secrets(
    tree: PublicTree, leaf_index: LeafIndex, leaf_private_key: bytes,
    path_secrets: Mapping[NodeIndex, bytes],
) -> PrivateTree:
    """A private state from a leaf key and per-node path secrets (stored state, test
    vectors), checked against the tree: each node is non-blank and shows the public key
    its secret yields.

    :raises PathKeyMismatchError: a node is blank or shows another key.
    """
    private = private_tree_for_joiner(tree, leaf_index, leaf_private_key)
    keys = dict(private.keys)
    for index, secret in path_secrets.items():
        node_private, node_public = _node_key_pair(tree.suite, secret)
        node = tree.node(index)
        if node is None or node.encryption_key != node_public:
            raise PathKeyMismatchError(f"path secret does not yield the key of node {index}",
                                       "RFC 9420 §7.4")
        keys[node_public] = node_private
    return PrivateTree(leaf_index, keys)


def _held_key(tree: PublicTree, private: PrivateTree,
              resolution: list[NodeIndex]) -> tuple[int, bytes]:
    # The position in the resolution (= of the ciphertext) and the private key of the
    # first resolution node whose public key this member holds.
    for position, r in enumerate(resolution):
        node = tree.node(r)
        private_key = private.private_key(node.encryption_key) if node is not None else None
        if private_key is not None:
            return position, private_key
    raise UsageError(f"leaf {private.leaf_index} holds no key for any of the "
                     f"{len(resolution)} nodes of the resolution")


def _node_key_pair(suite: CipherSuite, path_secret: bytes) -> tuple[bytes, bytes]:
    # §7.4: the node secret is an intermediate "so that each secret is only used with
    # one algorithm": DeriveSecret for path secrets, DeriveKeyPair for node secrets.
    return suite.derive_key_pair(suite.derive_secret(path_secret, "node"))


__all__ = [
    "CommitPath",
    "InvalidUpdatePathError",
    "PathKeyMismatchError",
    "PrivateTree",
    "ReceivedPath",
    "decrypt_update_path",
    "generate_update_path",
    "merge_update_path",
    "private_tree_for_joiner",
    "private_tree_from_path_secrets",
]
