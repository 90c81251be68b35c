"""Joining a group: GroupInfo, GroupSecrets and the Welcome (RFC 9420 §12.4.3).

Wire forms only. A Welcome carries, for each new member, the GroupSecrets encrypted to
its KeyPackage's init key, and the GroupInfo encrypted under the welcome key;
decrypting and verifying them is the joiner's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from letterlock.codec import Reader, Struct, Writer

from ._wire import known_or_int
from .constants import CipherSuiteId
from .extensions import Extension, pull_extensions, push_extensions
from .group_context import GroupContext
from .proposals import PreSharedKeyID
from .tree_nodes import HPKECiphertext


@dataclass(frozen=True, slots=True)
class GroupInfoTBS(Struct):
    """What a GroupInfo's signature covers (§12.4.3)::

        struct {
            GroupContext group_context;
            Extension extensions<V>;
            MAC confirmation_tag;
            uint32 signer;
        } GroupInfoTBS;

    (``MAC`` is ``opaque MAC<V>``, §6.1.)
    """

    group_context: GroupContext
    extensions: tuple[Extension, ...]
    confirmation_tag: bytes
    signer: int

    def signed(self, signature: bytes) -> GroupInfo:
        """The GroupInfo carrying ``signature`` over this TBS."""
        return GroupInfo(self.group_context, self.extensions, self.confirmation_tag,
                         self.signer, signature)

    def push(self, w: Writer) -> None:
        self.group_context.push(w)
        push_extensions(w, self.extensions)
        w.push_opaque(self.confirmation_tag)
        w.push_uint32(self.signer)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(GroupContext.pull(r), pull_extensions(r), r.pull_opaque(), r.pull_uint32())


@dataclass(frozen=True, slots=True)
class GroupInfo(Struct):
    """The group's state as a joiner needs it, signed by a member (§12.4.3)::

        struct {
            GroupContext group_context;
            Extension extensions<V>;
            MAC confirmation_tag;
            uint32 signer;
            /* SignWithLabel(., "GroupInfoTBS", GroupInfoTBS) */
            opaque signature<V>;
        } GroupInfo;
    """

    group_context: GroupContext
    extensions: tuple[Extension, ...]
    confirmation_tag: bytes
    signer: int
    signature: bytes

    @property
    def tbs(self) -> GroupInfoTBS:
        """What :attr:`signature` covers."""
        return GroupInfoTBS(self.group_context, self.extensions, self.confirmation_tag,
                            self.signer)

    def push(self, w: Writer) -> None:
        self.tbs.push(w)
        w.push_opaque(self.signature)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        tbs = GroupInfoTBS.pull(r)
        return cls(tbs.group_context, tbs.extensions, tbs.confirmation_tag, tbs.signer,
                   r.pull_opaque())


@dataclass(frozen=True, slots=True)
class PathSecret(Struct):
    """``struct { opaque path_secret<V>; } PathSecret;`` (§12.4.3.1)"""

    path_secret: bytes

    def push(self, w: Writer) -> None:
        w.push_opaque(self.path_secret)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque())


@dataclass(frozen=True, slots=True)
class GroupSecrets(Struct):
    """The secrets one new member needs to join (§12.4.3.1)::

        struct {
          opaque joiner_secret<V>;
          optional<PathSecret> path_secret;
          PreSharedKeyID psks<V>;
        } GroupSecrets;
    """

    joiner_secret: bytes
    path_secret: PathSecret | None = None
    psks: tuple[PreSharedKeyID, ...] = ()

    def push(self, w: Writer) -> None:
        w.push_opaque(self.joiner_secret)
        w.push_optional(self.path_secret, lambda w2, p: p.push(w2))
        w.push_vector(self.psks, lambda w2, p: p.push(w2))

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque(), r.pull_optional(PathSecret.pull),
                   tuple(r.pull_vector(PreSharedKeyID.pull)))


@dataclass(frozen=True, slots=True)
class EncryptedGroupSecrets(Struct):
    """GroupSecrets sealed to one new member's init key (§12.4.3.1)::

        struct {
          KeyPackageRef new_member;
          HPKECiphertext encrypted_group_secrets;
        } EncryptedGroupSecrets;

    ``new_member`` is the ``opaque KeyPackageRef<V>`` (§5.2) of the KeyPackage used.
    """

    new_member: bytes
    encrypted_group_secrets: HPKECiphertext

    def push(self, w: Writer) -> None:
        w.push_opaque(self.new_member)
        self.encrypted_group_secrets.push(w)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(r.pull_opaque(), HPKECiphertext.pull(r))


@dataclass(frozen=True, slots=True)
class Welcome(Struct):
    """A Welcome message (§12.4.3.1)::

        struct {
          CipherSuite cipher_suite;
          EncryptedGroupSecrets secrets<V>;
          opaque encrypted_group_info<V>;
        } Welcome;
    """

    cipher_suite: int
    secrets: tuple[EncryptedGroupSecrets, ...]
    encrypted_group_info: bytes

    def push(self, w: Writer) -> None:
        w.push_uint16(self.cipher_suite)
        w.push_vector(self.secrets, lambda w2, s: s.push(w2))
        w.push_opaque(self.encrypted_group_info)

    @classmethod
    def pull(cls, r: Reader) -> Self:
        return cls(known_or_int(CipherSuiteId, r.pull_uint16()),
                   tuple(r.pull_vector(EncryptedGroupSecrets.pull)), r.pull_opaque())
