"""Encryption at rest for the few secrets Topup must read back later (a PIN and its serial).

A password or an SMS code only has to be checked, so it is kept as a hash; a PIN has to be
shown again in the customer's history, so it is sealed instead: AES-256-GCM under a key
derived from ``TOPUP_SECRET_KEY`` with HKDF and a purpose label, so each use has its own key
and a key for one purpose opens nothing of another. The row's id is bound in as associated
data: a ciphertext copied into another row does not open there.

A sealed value is ``version (1 byte) ‖ nonce (12 bytes) ‖ ciphertext and tag``; the version
leaves room for a later key rotation without guessing what old rows hold.
"""

from __future__ import annotations

import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
NONCE_BYTES = 12  # GCM's own size; random per value, never reused under one key


class SealBroken(Exception):
    """A sealed value does not open: another key, another row, or it was altered."""


class Sealer:
    def __init__(self, secret_key: str, purpose: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"topup/{purpose}".encode()
        ).derive(secret_key.encode())
        self._aead = AESGCM(derived)
        self.purpose = purpose

    def __repr__(self) -> str:  # the key never reaches a log line or a traceback
        return f"Sealer(purpose={self.purpose!r})"

    def seal(self, plaintext: str, *, bound_to: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), bound_to.encode())

    def open(self, sealed: bytes, *, bound_to: str) -> str:
        version, nonce, ciphertext = sealed[:1], sealed[1 : 1 + NONCE_BYTES], sealed[13:]
        if version != VERSION:
            raise SealBroken("unknown seal version")
        try:
            return self._aead.decrypt(nonce, ciphertext, bound_to.encode()).decode()
        except InvalidTag:
            # Says nothing about the value: the message may reach a log.
            raise SealBroken(f"a {self.purpose} value does not open") from None


@lru_cache(maxsize=8)
def sealer(secret_key: str, purpose: str) -> Sealer:
    """One sealer per key and purpose, per process (HKDF once)."""
    return Sealer(secret_key, purpose)
