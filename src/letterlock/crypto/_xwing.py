"""X-Wing, the ML-KEM-768 + X25519 hybrid KEM, as an HPKE KEM (KEM id 0x647A).

Sources:

- draft-connolly-cfrg-xwing-kem (the construction; the version pyca/cryptography 50
  implements, draft-06 and later: 32-byte seed private keys, label-last combiner);
- draft-ietf-hpke-pq, which assigns X-Wing the HPKE KEM id 0x647A ("MLKEM768-X25519");
- draft-ietf-mls-pq-ciphersuites (ML-KEM and Hybrid Cipher Suites for MLS), whose
  X-Wing suite MLS_256_XWING_AES256GCM_SHA512_Ed25519 uses this KEM with HKDF-SHA512,
  AES-256-GCM and Ed25519 (registered in :mod:`.suite`).

MLS code point: 0x0053 (83), the value ts-mls 1.6.4 uses. It is provisional: the suite
is not in the IANA registry, the draft's own IANA section could not be confirmed when
this was written, earlier ts-mls releases used 0xF00D for the same suite, and OpenMLS
uses 0x004D for a different X-Wing suite (ChaCha20-Poly1305, SHA-256). Differences
between versions: X-Wing drafts before -06 used a 2464-byte expanded private key and a
label-first combiner (and one revision SHAKE128 expansion); we follow -06 and later,
as pyca does. ts-mls derives MLS key pairs exactly as here (seed = SHAKE256(ikm, 32)).

Keys and sizes::

    private key   32 bytes: the X-Wing seed
    expansion     SHAKE256(seed, 96) = ML-KEM-768 seed (d || z, 64) || X25519 key (32)
    public key    1216 bytes: ML-KEM-768 encapsulation key (1184) || X25519 key (32)
    enc           1120 bytes: ML-KEM-768 ciphertext (1088) || X25519 ephemeral (32)
    secret        32 bytes: SHA3-256(ss_M || ss_X || ct_X || pk_X || XWingLabel)

DeriveKeyPair(ikm) = the key pair of seed SHAKE256(ikm, 32), as the X-Wing draft's HPKE
section defines it (and as ts-mls does). X-Wing has no authenticated mode, so AuthEncap
and AuthDecap raise UnsupportedError.

Everything is composed from pyca: ML-KEM-768 (keygen from seed, encapsulate,
decapsulate), X25519, SHAKE256 and SHA3-256. Randomness: the X25519 half of an
encapsulation uses the ephemeral key the HPKE layer derives from the injected
RandomSource, but pyca's ML-KEM ``encapsulate()`` draws its own randomness and cannot
be given any, so **an X-Wing encryption is not reproducible from a seeded
RandomSource** (decryption, key derivation and the exporter are deterministic as
usual). Agreement with pyca's own ``hpke.Suite(KEM.MLKEM768_X25519, ...)`` is tested
in both directions.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from ._errors import DecryptError, InvalidKeyError, UnsupportedError

# draft-ietf-hpke-pq: HPKE KEM identifier of X-Wing (MLKEM768-X25519).
XWING_KEM_ID = 0x647A

# The combiner's domain separator: the ASCII art \.//^\ (X-Wing draft, "Combiner").
XWING_LABEL = b"\\.//^\\"

_N_SEED = 32
_N_MLKEM_PK = 1184
_N_MLKEM_CT = 1088
_N_X25519 = 32


def _shake256(data: bytes, length: int) -> bytes:
    digest = hashes.Hash(hashes.SHAKE256(length))
    digest.update(data)
    return digest.finalize()


def _sha3_256(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA3_256())
    digest.update(data)
    return digest.finalize()


def _combiner(ss_m: bytes, ss_x: bytes, ct_x: bytes, pk_x: bytes) -> bytes:
    # X-Wing "Combiner": the X25519 ciphertext and public key are hashed in so that the
    # classical half is bound to its transcript (ML-KEM's own is already binding).
    return _sha3_256(ss_m + ss_x + ct_x + pk_x + XWING_LABEL)


def expand_private_key(
    private_key: bytes,
) -> tuple[mlkem.MLKEM768PrivateKey, x25519.X25519PrivateKey]:
    """The ML-KEM-768 and X25519 private keys a 32-byte X-Wing seed expands to.

    :raises InvalidKeyError: ``private_key`` is not 32 bytes.
    """
    if len(private_key) != _N_SEED:
        raise InvalidKeyError(f"X-Wing private key must be {_N_SEED} bytes")
    expanded = _shake256(private_key, 96)
    return (mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
            x25519.X25519PrivateKey.from_private_bytes(expanded[64:]))


class XWingKem:
    """X-Wing as an HPKE KEM; same interface as :class:`._dhkem.Dhkem`. Stateless."""

    __slots__ = ()

    kem_id = XWING_KEM_ID
    n_secret = 32
    n_enc = _N_MLKEM_CT + _N_X25519
    n_pk = _N_MLKEM_PK + _N_X25519
    n_sk = _N_SEED

    def derive_key_pair(self, ikm: bytes) -> tuple[bytes, bytes]:
        """DeriveKeyPair: the seed is SHAKE256(ikm, 32) (X-Wing draft, HPKE section)."""
        private_key = _shake256(ikm, _N_SEED)
        return private_key, self.public_key(private_key)

    def public_key(self, private_key: bytes) -> bytes:
        """pk_M || pk_X of a 32-byte seed; InvalidKeyError if it is not 32 bytes."""
        key_m, key_x = expand_private_key(private_key)
        return key_m.public_key().public_bytes_raw() + key_x.public_key().public_bytes_raw()

    def encap(
        self,
        public_key: bytes,
        ephemeral_private_key: bytes,
        sender_private_key: bytes | None = None,
    ) -> tuple[bytes, bytes]:
        """Encapsulate to ``public_key``: ``(shared_secret, enc)``.

        ``ephemeral_private_key`` (32 bytes from the injected randomness) is the X25519
        ephemeral scalar; the ML-KEM half uses pyca's internal randomness.

        :raises InvalidKeyError: ``public_key`` is malformed (size, ML-KEM encoding) or
            its X25519 half is a low-order point.
        :raises UnsupportedError: ``sender_private_key`` given (no AuthEncap).
        """
        if sender_private_key is not None:
            raise UnsupportedError("X-Wing has no authenticated HPKE mode")
        if len(public_key) != self.n_pk:
            raise InvalidKeyError(f"X-Wing public key must be {self.n_pk} bytes")
        if len(ephemeral_private_key) != _N_X25519:
            raise InvalidKeyError(f"ephemeral key must be {_N_X25519} bytes")
        pk_m, pk_x = public_key[:_N_MLKEM_PK], public_key[_N_MLKEM_PK:]
        try:
            # pyca checks the encapsulation key's encoding (FIPS 203 §7.2 modulus check).
            ss_m, ct_m = mlkem.MLKEM768PublicKey.from_public_bytes(pk_m).encapsulate()
        except ValueError:
            raise InvalidKeyError("X-Wing public key has an invalid ML-KEM part") from None
        ephemeral = x25519.X25519PrivateKey.from_private_bytes(ephemeral_private_key)
        ct_x = ephemeral.public_key().public_bytes_raw()
        try:
            ss_x = ephemeral.exchange(x25519.X25519PublicKey.from_public_bytes(pk_x))
        except ValueError:
            # OpenSSL refuses the all-zero output of a low-order point.
            raise InvalidKeyError("X-Wing public key has a low-order X25519 part") from None
        return _combiner(ss_m, ss_x, ct_x, pk_x), ct_m + ct_x

    def decap(
        self, enc: bytes, private_key: bytes, sender_public_key: bytes | None = None
    ) -> bytes:
        """Decapsulate ``enc`` with ``private_key`` (a seed): the shared secret.

        ML-KEM's implicit rejection means a tampered ciphertext yields a wrong secret,
        which the AEAD then rejects. A malformed ``enc`` (size, low-order X25519 half)
        raises DecryptError, the same opaque error as a failed open.

        :raises InvalidKeyError: ``private_key`` is not 32 bytes.
        :raises UnsupportedError: ``sender_public_key`` given (no AuthDecap).
        """
        if sender_public_key is not None:
            raise UnsupportedError("X-Wing has no authenticated HPKE mode")
        key_m, key_x = expand_private_key(private_key)
        if len(enc) != self.n_enc:
            raise DecryptError("decryption failed")
        ct_m, ct_x = enc[:_N_MLKEM_CT], enc[_N_MLKEM_CT:]
        try:
            ss_m = key_m.decapsulate(ct_m)
            ss_x = key_x.exchange(x25519.X25519PublicKey.from_public_bytes(ct_x))
        except ValueError:
            raise DecryptError("decryption failed") from None
        pk_x = key_x.public_key().public_bytes_raw()
        return _combiner(ss_m, ss_x, ct_x, pk_x)


__all__ = ["XWING_KEM_ID", "XWING_LABEL", "XWingKem", "expand_private_key"]
