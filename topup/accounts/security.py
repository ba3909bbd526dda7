"""Passwords, codes and tokens: how secrets are made, stored and checked.

- Passwords: argon2id (argon2-cffi), hashed in a worker thread because a hash takes tens
  of milliseconds of CPU and would otherwise stall every request on the event loop.
- SMS codes: 6 random digits, stored as an HMAC keyed with the service's secret, so a
  leaked table cannot be brute-forced offline without the key.
- Bearer and reset tokens: 256 random bits, stored as SHA-256 (random enough that a plain
  digest is safe), compared by digest lookup.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

CODE_DIGITS = 6


class Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        # Checked against when no account matches, so "no such account" costs the same
        # time as "wrong password" and the answer time reveals nothing.
        self._decoy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._decoy_hash, password) and (
                password_hash is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_digest(secret_key: str, verification_id: str, code: str) -> str:
    """HMAC of the code, bound to its verification so one digest cannot serve another."""
    message = f"{verification_id}:{code}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def codes_match(expected_digest: str, secret_key: str, verification_id: str, code: str) -> bool:
    return hmac.compare_digest(expected_digest, code_digest(secret_key, verification_id, code))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
