"""Making and checking KeyPackages (RFC 9420 §10).

A KeyPackage is a client's signed, one-time offer to be added to a group: an HPKE init
key the Welcome is encrypted to, and a leaf node (encryption key, signature key,
credential, capabilities, lifetime). :func:`create_key_package` makes one together with
the private keys its owner must keep; :func:`verify_key_package` is the only road from
received KeyPackage bytes to one a group may use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from letterlock.crypto.random import RandomSource
from letterlock.crypto.signature import PrivateKey
from letterlock.crypto.suite import SUPPORTED_SUITES, CipherSuite

from .constants import CredentialType, ExtensionType, LeafNodeSource, ProtocolVersion
from .credentials import Credential
from .errors import InvalidMessageError, UsageError
from .extensions import Extension, find_extension
from .key_package import KeyPackage, KeyPackageTBS, check_key_package_shape
from .leaf_node import Capabilities, LeafNodeTBS, Lifetime

KEY_PACKAGE_LABEL = b"KeyPackageTBS"
LEAF_NODE_LABEL = b"LeafNodeTBS"


class KeyPackageSuiteError(InvalidMessageError):
    """§10.1 / §12.2: the KeyPackage's version or cipher suite is not the group's."""


class KeyPackageLifetimeError(InvalidMessageError):
    """§10.1: the current time is outside the KeyPackage leaf's lifetime."""


def default_capabilities(credential_type: int = CredentialType.BASIC) -> Capabilities:
    """What this library supports, as a leaf advertises it (§7.2).

    Default proposal types (1-7) and extension types (1-5) are implied and not listed;
    the last_resort KeyPackage extension is.
    """
    return Capabilities(
        versions=(ProtocolVersion.MLS10,),
        cipher_suites=tuple(SUPPORTED_SUITES),
        extensions=(ExtensionType.LAST_RESORT,),
        proposals=(),
        credentials=(credential_type,),
    )


@dataclass(frozen=True, slots=True)
class KeyPackageBundle:
    """A KeyPackage and the private keys its owner keeps until it is used (§16.8).

    The signature key is the owner's long-term key and is not part of the bundle.
    """

    key_package: KeyPackage
    init_private_key: bytes = field(repr=False)
    encryption_private_key: bytes = field(repr=False)


def create_key_package(
    suite: CipherSuite,
    *,
    credential: Credential,
    signature_private_key: PrivateKey,
    lifetime: Lifetime,
    rng: RandomSource,
    capabilities: Capabilities | None = None,
    extensions: Sequence[Extension] = (),
    leaf_extensions: Sequence[Extension] = (),
    last_resort: bool = False,
) -> KeyPackageBundle:
    """Make and sign a KeyPackage with fresh init and encryption key pairs.

    ``last_resort`` adds the last_resort extension (draft-ietf-mls-extensions): a
    KeyPackage the directory hands out when the one-time pool is empty, reused until
    replaced.

    :raises UsageError: the signature key does not belong to this suite, or the
        lifetime is inverted.
    """
    if lifetime.not_before > lifetime.not_after:
        raise UsageError("lifetime ends before it begins")
    caps = capabilities or default_capabilities(credential.credential_type)
    init_private, init_public = suite.hpke.generate_key_pair(rng)
    enc_private, enc_public = suite.hpke.generate_key_pair(rng)
    signature_key = suite.signature_public_key(signature_private_key)
    leaf_tbs = LeafNodeTBS(
        encryption_key=enc_public, signature_key=signature_key, credential=credential,
        capabilities=caps, leaf_node_source=LeafNodeSource.KEY_PACKAGE, lifetime=lifetime,
        extensions=tuple(leaf_extensions))
    leaf = leaf_tbs.signed(suite.sign_with_label(signature_private_key, LEAF_NODE_LABEL,
                                                 leaf_tbs.to_bytes()))
    ext = tuple(extensions)
    if last_resort and find_extension(ext, ExtensionType.LAST_RESORT) is None:
        ext += (Extension(ExtensionType.LAST_RESORT, b""),)
    tbs = KeyPackageTBS(ProtocolVersion.MLS10, suite.suite_id, init_public, leaf, ext)
    key_package = tbs.signed(suite.sign_with_label(signature_private_key, KEY_PACKAGE_LABEL,
                                                   tbs.to_bytes()))
    return KeyPackageBundle(key_package, init_private, enc_private)


def verify_key_package(suite: CipherSuite, key_package: KeyPackage, *,
                       now: int | None = None) -> None:
    """The checks §10.1 requires of a received KeyPackage before it is used.

    Shape (version, leaf source, distinct keys, unique extensions), the group's cipher
    suite, the KeyPackage signature and the leaf node's signature, both by the leaf's
    signature key, and the lifetime when ``now`` (seconds since the Unix epoch) is
    given. Group-dependent leaf checks (capabilities, duplicate keys, the credential)
    happen when the KeyPackage is added (:mod:`letterlock.mls.tree_validation`).

    :raises InvalidMessageError: KeyPackageSuiteError, KeyPackageLifetimeError, or a
        shape error; :raises VerifyError: a signature does not verify.
    """
    check_key_package_shape(key_package)
    if key_package.cipher_suite != suite.suite_id:
        raise KeyPackageSuiteError(
            f"KeyPackage is for cipher suite {key_package.cipher_suite}, "
            f"the group uses {suite.suite_id}", "RFC 9420 §10.1")
    leaf = key_package.leaf_node
    suite.verify_with_label(leaf.signature_key, KEY_PACKAGE_LABEL,
                            key_package.tbs.to_bytes(), key_package.signature)
    suite.verify_with_label(leaf.signature_key, LEAF_NODE_LABEL, leaf.tbs_bytes(),
                            leaf.signature)
    if now is not None and leaf.lifetime is not None and not (
            leaf.lifetime.not_before <= now <= leaf.lifetime.not_after):
        raise KeyPackageLifetimeError("KeyPackage is outside its lifetime", "RFC 9420 §10.1")


def is_last_resort(key_package: KeyPackage) -> bool:
    """Whether the KeyPackage carries the last_resort extension."""
    return find_extension(key_package.extensions, ExtensionType.LAST_RESORT) is not None


def key_package_ref(suite: CipherSuite, key_package: KeyPackage) -> bytes:
    """``MakeKeyPackageRef(KeyPackage)`` (§5.2): how Welcomes name their recipients."""
    return suite.make_key_package_ref(key_package.to_bytes())


__all__ = [
    "KeyPackageBundle",
    "KeyPackageLifetimeError",
    "KeyPackageSuiteError",
    "create_key_package",
    "default_capabilities",
    "is_last_resort",
    "key_package_ref",
    "verify_key_package",
]
