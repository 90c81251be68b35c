"""The secret tree and its sender ratchets (RFC 9420 §9), and sender-data keys (§6.3.2).

Each epoch's encryption_secret sits at the root of a tree shaped like the ratchet tree;
every node's secret yields its children's (``"tree"`` with context ``"left"`` /
``"right"``) and every leaf's secret yields two hash ratchets, one for handshake
messages and one for application messages. Generation ``j`` of a ratchet gives one AEAD
key and nonce, used for exactly one message (§9.1).

Forward secrecy (§9.2): a value is *consumed* once it has been used to encrypt or
successfully decrypt, or once something derived from it is consumed, and must then be
deleted. So the tree keeps only a frontier of node secrets (a parent's secret is dropped
once both children exist; a leaf's once both ratchets exist), a ratchet keeps only its
next secret, and each key is deleted when consumed. Python cannot wipe memory;
"deleted" means no reference to it is left in this library.

Receiving is staged, then committed, because §9.2 counts only a *successful*
decryption as consumption: :meth:`SecretTree.key_for_decryption` derives a key without
changing any state; :meth:`SecretTree.consume` commits it once the AEAD opened. A forged
message therefore cannot burn a key or move a ratchet.

Out-of-order delivery (§15.3) is bounded by :class:`RatchetConfig`: keys for up to
``out_of_order_tolerance`` generations below the newest consumed one are retained, and
a message may jump at most ``max_forward_distance`` generations ahead (so a malicious
member cannot make us derive 2^32 keys).

Reuse guards (§6.3.1) are applied by framing, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from letterlock.codec import DecodeError, Reader, Writer, fast_init
from letterlock.crypto import CipherSuite

from . import tree_math
from .constants import ContentType
from .errors import InvalidMessageError, UsageError
from .key_schedule import EncryptionSecret, KeyAndNonce, SenderDataSecret
from .tree_math import LeafIndex, NodeIndex

MAX_GENERATION = 0xFFFFFFFF  # generations are uint32 on the wire (§6.3.2 SenderData)


class GenerationReusedError(InvalidMessageError):
    """The key for this generation was already consumed: a replay, or a reused key.

    RFC 9420 §9.1: "Each key/nonce pair MUST NOT be used to encrypt more than one
    message"; §9.2: consumed keys MUST be deleted, so a second message with the same
    generation cannot be decrypted.
    """

    def __init__(self, leaf: int, generation: int) -> None:
        super().__init__(f"leaf {leaf}: generation {generation} was already consumed",
                         "RFC 9420 §9.2")
        self.leaf, self.generation = leaf, generation


class GenerationTooOldError(InvalidMessageError):
    """The generation lies below the retained out-of-order window; its key is deleted.

    RFC 9420 §15.3: applications define how many unused keys to keep; older ones are
    deleted per §9.2 and messages under them can no longer be decrypted.
    """

    def __init__(self, leaf: int, generation: int) -> None:
        super().__init__(f"leaf {leaf}: generation {generation} is older than the window",
                         "RFC 9420 §15.3")
        self.leaf, self.generation = leaf, generation


class GenerationTooFarError(InvalidMessageError):
    """The generation is further ahead than ``max_forward_distance``.

    RFC 9420 §15.3: messages whose generation is "too much higher than the last message
    received" are rejected, so a member cannot force billions of key derivations.
    """

    def __init__(self, leaf: int, generation: int) -> None:
        super().__init__(f"leaf {leaf}: generation {generation} is too far ahead",
                         "RFC 9420 §15.3")
        self.leaf, self.generation = leaf, generation


class UnknownLeafError(InvalidMessageError):
    """The leaf index is outside the tree, so no member there can have sent this.

    RFC 9420 §6.3.2: the recipient MUST verify that SenderData.leaf_index identifies a
    non-blank leaf; an index outside the tree identifies no leaf at all.
    """

    def __init__(self, leaf: int, n_leaves: int) -> None:
        super().__init__(f"leaf {leaf} is outside a tree of {n_leaves} leaves", "RFC 9420 §6.3.2")
        self.leaf = leaf


class RatchetType(Enum):
    """The two ratchets of each leaf (§9); the value is the derivation label."""

    HANDSHAKE = "handshake"
    APPLICATION = "application"

    # Members are singletons compared by identity, so hashing by identity agrees with
    # equality; it keeps the per-message ratchet lookup in C (Enum's __hash__ is Python).
    __hash__ = object.__hash__

    @classmethod
    def for_content(cls, content_type: ContentType) -> RatchetType:
        """Application data uses the application ratchet; proposals and commits the other."""
        return _APPLICATION if content_type == _APPLICATION_CONTENT else _HANDSHAKE


# Bound once: for_content runs for every message, and reading an Enum class attribute
# runs EnumType's Python-level hooks in Python 3.11.
_APPLICATION, _HANDSHAKE = RatchetType.APPLICATION, RatchetType.HANDSHAKE
_APPLICATION_CONTENT = ContentType.APPLICATION


@dataclass(frozen=True, slots=True)
class RatchetConfig:
    """The out-of-order policy §15.3 asks applications to set (defaults as OpenMLS's)."""

    out_of_order_tolerance: int = 5
    max_forward_distance: int = 1000

    def __post_init__(self) -> None:
        if not 0 <= self.out_of_order_tolerance <= MAX_GENERATION:
            raise UsageError(f"bad out_of_order_tolerance {self.out_of_order_tolerance}")
        if not 0 <= self.max_forward_distance <= MAX_GENERATION:
            raise UsageError(f"bad max_forward_distance {self.max_forward_distance}")


@fast_init  # built for every message
@dataclass(frozen=True, slots=True)
class RatchetKey:
    """The AEAD key and nonce of one generation of one sender ratchet."""

    generation: int
    key: bytes = field(repr=False)
    nonce: bytes = field(repr=False)


@fast_init  # built for every message
@dataclass(frozen=True, slots=True)
class _State:
    """A ratchet's state: next generation, its secret, and retained unconsumed keys."""

    generation: int  # past MAX_GENERATION once the last generation was consumed
    secret: bytes
    retained: dict[int, KeyAndNonce]


@fast_init  # built for every message received
@dataclass(frozen=True, slots=True, eq=False)
class StagedKey:
    """A derived decryption key not yet consumed; pass it to :meth:`SecretTree.consume`."""

    leaf: LeafIndex
    ratchet_type: RatchetType
    key: RatchetKey
    _ratchet: _SenderRatchet = field(repr=False)  # where it came from
    _base: _State = field(repr=False)  # the state it was derived from
    _after: _State = field(repr=False)  # the state once it is consumed


class _SenderRatchet:
    """One hash ratchet (§9.1); state changes only by replacing ``_state`` whole."""

    __slots__ = ("_config", "_leaf", "_sizes", "_state", "_suite")

    def __init__(self, suite: CipherSuite, leaf: LeafIndex, secret: bytes,
                 config: RatchetConfig) -> None:
        self._suite, self._leaf, self._config = suite, leaf, config
        self._sizes = (suite.n_k, suite.n_n, suite.n_h)
        self._state = _State(0, secret, {})

    def _step(self, secret: bytes, generation: int) -> tuple[bytes, bytes, bytes]:
        # ratchet_key/nonce_[j] and ratchet_secret_[j+1] = DeriveTreeSecret(secret_[j], ...),
        # i.e. ExpandWithLabel with the generation as a uint32 context (§9.1); callers
        # keep generations within uint32. Returns (key, nonce, next secret).
        expand, context = self._suite.expand_with_label, generation.to_bytes(4, "big")
        n_k, n_n, n_h = self._sizes
        return (expand(secret, "key", context, n_k), expand(secret, "nonce", context, n_n),
                expand(secret, "secret", context, n_h))

    def derive(self, generation: int) -> tuple[RatchetKey, _State]:
        """The key for ``generation`` and the state after consuming it; no mutation."""
        state, leaf = self._state, int(self._leaf)
        if not 0 <= generation <= MAX_GENERATION:
            raise UsageError(f"generation {generation} is not a uint32")
        if generation < state.generation:
            kept = state.retained.get(generation)
            if kept is None:
                # Within the window and absent: it was consumed. Below it: deleted unused.
                newest_consumed = state.generation - 1
                if generation < newest_consumed - self._config.out_of_order_tolerance:
                    raise GenerationTooOldError(leaf, generation)
                raise GenerationReusedError(leaf, generation)
            retained = {g: k for g, k in state.retained.items() if g != generation}
            return _ratchet_key(generation, kept), _State(state.generation, state.secret,
                                                          retained)
        if generation - state.generation > self._config.max_forward_distance:
            raise GenerationTooFarError(leaf, generation)
        # Keep skipped keys only if the window will still cover them once ``generation``
        # is the newest consumed one; older ones are never even derived.
        lowest_kept = generation - self._config.out_of_order_tolerance
        retained = {g: k for g, k in state.retained.items() if g >= lowest_kept} \
            if state.retained else {}
        secret = state.secret
        for j in range(state.generation, generation):
            key, nonce, secret = self._step(secret, j)
            if j >= lowest_kept:
                retained[j] = KeyAndNonce(key, nonce)
        key, nonce, secret = self._step(secret, generation)
        return RatchetKey(generation, key, nonce), _State(generation + 1, secret, retained)

    def stage(self, ratchet_type: RatchetType, generation: int) -> StagedKey:
        key, after = self.derive(generation)
        return StagedKey(self._leaf, ratchet_type, key, self, self._state, after)

    def commit(self, staged: StagedKey) -> None:
        if staged._ratchet is not self:
            raise UsageError("this staged key belongs to another secret tree or ratchet")
        if staged._base is self._state:
            self._state = staged._after
            return
        # Another key of this ratchet was consumed in between: derive again from the
        # current state (deterministic), which also catches a now-consumed generation.
        self._state = self.derive(staged.key.generation)[1]

    def next(self) -> RatchetKey:
        state = self._state
        generation = state.generation
        if generation > MAX_GENERATION:
            raise UsageError(f"leaf {self._leaf}: all 2^32 generations are used up")
        if state.retained:
            ratchet_key, self._state = self.derive(generation)
            return ratchet_key
        # What derive() does for the next generation with nothing retained (always so
        # for our own sending ratchet), without its bookkeeping: one step.
        key, nonce, secret = self._step(state.secret, generation)
        self._state = _State(generation + 1, secret, {})
        return RatchetKey(generation, key, nonce)


def _ratchet_key(generation: int, key: KeyAndNonce) -> RatchetKey:
    return RatchetKey(generation, key.key, key.nonce)


class SecretTree:
    """One epoch's secret tree over ``n_leaves`` leaves (a power of two, §7.7)."""

    __slots__ = ("_config", "_n_leaves", "_nodes", "_ratchets", "_suite")

    def __init__(self, suite: CipherSuite, encryption_secret: EncryptionSecret,
                 n_leaves: int, config: RatchetConfig | None = None) -> None:
        self._suite = suite
        self._n_leaves = n_leaves
        self._config = config if config is not None else RatchetConfig()
        # The frontier of node secrets not yet consumed; it starts at the root (§9).
        self._nodes: dict[NodeIndex, bytes] = {tree_math.root(n_leaves): encryption_secret.value}
        self._ratchets: dict[tuple[LeafIndex, RatchetType], _SenderRatchet] = {}

    @property
    def n_leaves(self) -> int:
        return self._n_leaves

    def _leaf_secret(self, target: NodeIndex) -> bytes:
        # Walk down from the root; at each ancestor still on the frontier derive both
        # children and drop the parent (§9.2: consumed once both children exist).
        node = tree_math.root(self._n_leaves)
        while node != target:
            secret = self._nodes.pop(node, None)
            left, right = tree_math.left(node), tree_math.right(node)
            if secret is not None:
                s = self._suite
                self._nodes[left] = s.expand_with_label(secret, "tree", b"left", s.n_h)
                self._nodes[right] = s.expand_with_label(secret, "tree", b"right", s.n_h)
            node = left if target < node else right
        # The leaf's secret is consumed by creating its two ratchets.
        return self._nodes.pop(target)

    def _ratchet(self, leaf: int, ratchet_type: RatchetType) -> _SenderRatchet:
        if not 0 <= leaf < self._n_leaves:
            raise UnknownLeafError(leaf, self._n_leaves)
        index = LeafIndex(leaf)
        # One lookup on the common path (every message): Enum members hash slowly.
        ratchet = self._ratchets.get((index, ratchet_type))
        if ratchet is None:
            leaf_secret = self._leaf_secret(tree_math.leaf_to_node(index))
            for kind in RatchetType:
                root = self._suite.expand_with_label(leaf_secret, kind.value, b"",
                                                     self._suite.n_h)
                self._ratchets[index, kind] = _SenderRatchet(self._suite, index, root,
                                                             self._config)
            ratchet = self._ratchets[index, ratchet_type]
        return ratchet

    def key_for_encryption(self, leaf: LeafIndex, ratchet_type: RatchetType) -> RatchetKey:
        """The next key and nonce of our own ``leaf``; consumed at once (§9.1, §9.2).

        :raises UsageError: the ratchet has run through all 2^32 generations.
        """
        # The ratchet exists after our first message of the epoch (and then ``leaf`` is
        # inside the tree): one dict lookup on the path of every message we send.
        ratchet = self._ratchets.get((leaf, ratchet_type)) or self._ratchet(leaf, ratchet_type)
        return ratchet.next()

    def key_for_decryption(self, leaf: LeafIndex, ratchet_type: RatchetType,
                           generation: int) -> StagedKey:
        """Derive the key for a received message without consuming anything.

        Call :meth:`consume` with the result once the message decrypted successfully.

        :raises UnknownLeafError: ``leaf`` is outside the tree (§6.3.2).
        :raises GenerationReusedError: that generation's key was already consumed (§9.2).
        :raises GenerationTooOldError: it is below the retained window (§15.3).
        :raises GenerationTooFarError: it is beyond ``max_forward_distance`` (§15.3).
        """
        return self._ratchet(leaf, ratchet_type).stage(ratchet_type, generation)

    def consume(self, staged: StagedKey) -> None:
        """Mark a staged key consumed: delete it and advance its ratchet (§9.2).

        Keys staged from the same state may be consumed in any order.

        :raises GenerationReusedError: it was consumed in the meantime (staged twice).
        :raises GenerationTooOldError: another key moved the window past it meanwhile.
        :raises UsageError: ``staged`` came from another SecretTree.
        """
        ratchet = self._ratchets.get((staged.leaf, staged.ratchet_type))
        if ratchet is None:
            raise UsageError("this staged key belongs to another secret tree")
        ratchet.commit(staged)


    # ---- local storage (our own format, for a group's saved state) --------------------

    def push_state(self, w: Writer) -> None:
        """Write the whole ratchet state (frontier, ratchets, retained keys) for storage.

        Secret material: the caller stores it encrypted. The form is private to this
        library::

            uint32 n_leaves; uint32 tolerance; uint32 max_forward;
            struct { uint32 node; opaque secret<V>; } frontier<V>;
            struct { uint32 leaf; uint8 type; uint64 generation; opaque secret<V>;
                     struct { uint32 generation; opaque key<V>; opaque nonce<V>; }
                     retained<V>; } ratchets<V>;
        """
        w.push_uint32(self._n_leaves)
        w.push_uint32(self._config.out_of_order_tolerance)
        w.push_uint32(self._config.max_forward_distance)
        w.push_vector(sorted(self._nodes.items()), _push_node_secret)
        w.push_vector(sorted(self._ratchets.items(), key=lambda kv: (kv[0][0], kv[0][1].value)),
                      _push_ratchet)

    @classmethod
    def pull_state(cls, suite: CipherSuite, r: Reader) -> SecretTree:
        """Read what :meth:`push_state` wrote. :raises DecodeError: malformed state."""
        n_leaves = r.pull_uint32()
        config = RatchetConfig(r.pull_uint32(), r.pull_uint32())
        tree = cls(suite, EncryptionSecret(b""), n_leaves, config)
        tree._nodes = {NodeIndex(i): s for i, s in
                       r.pull_vector(lambda r2: (r2.pull_uint32(), r2.pull_opaque()))}
        for leaf, kind, state in r.pull_vector(_pull_ratchet):
            ratchet = _SenderRatchet(suite, LeafIndex(leaf), b"", config)
            ratchet._state = state
            tree._ratchets[LeafIndex(leaf), kind] = ratchet
        return tree


def _push_node_secret(w: Writer, item: tuple[NodeIndex, bytes]) -> None:
    w.push_uint32(item[0])
    w.push_opaque(item[1])


def _push_ratchet(w: Writer, item: tuple[tuple[LeafIndex, RatchetType], _SenderRatchet]) -> None:
    (leaf, kind), ratchet = item
    state = ratchet._state
    w.push_uint32(leaf)
    w.push_uint8(0 if kind is RatchetType.HANDSHAKE else 1)
    w.push_uint64(state.generation)
    w.push_opaque(state.secret)
    w.push_vector(sorted(state.retained.items()), _push_retained)


def _push_retained(w: Writer, item: tuple[int, KeyAndNonce]) -> None:
    w.push_uint32(item[0])
    w.push_opaque(item[1].key)
    w.push_opaque(item[1].nonce)


def _pull_ratchet(r: Reader) -> tuple[int, RatchetType, _State]:
    leaf = r.pull_uint32()
    kind_code = r.pull_uint8()
    if kind_code > 1:
        raise DecodeError(f"ratchet type {kind_code}", r.position)
    kind = RatchetType.HANDSHAKE if kind_code == 0 else RatchetType.APPLICATION
    generation, secret = r.pull_uint64(), r.pull_opaque()
    retained = {g: KeyAndNonce(k, n) for g, k, n in
                r.pull_vector(lambda r2: (r2.pull_uint32(), r2.pull_opaque(), r2.pull_opaque()))}
    return leaf, kind, _State(generation, secret, retained)


def sender_data_key(suite: CipherSuite, sender_data_secret: SenderDataSecret,
                    ciphertext: bytes) -> KeyAndNonce:
    """The SenderData key and nonce for a PrivateMessage's ``ciphertext`` (§6.3.2).

    The sample is the first KDF.Nh bytes of the content ciphertext, or all of it when
    shorter: ExpandWithLabel(sender_data_secret, "key"/"nonce", sample, Nk/Nn).
    """
    sample = ciphertext[: suite.n_h]
    secret = sender_data_secret.value
    return KeyAndNonce(suite.expand_with_label(secret, "key", sample, suite.n_k),
                       suite.expand_with_label(secret, "nonce", sample, suite.n_n))


__all__ = [
    "MAX_GENERATION",
    "GenerationReusedError",
    "GenerationTooFarError",
    "GenerationTooOldError",
    "RatchetConfig",
    "RatchetKey",
    "RatchetType",
    "SecretTree",
    "StagedKey",
    "UnknownLeafError",
    "sender_data_key",
]
