"""argon2id password hashing on a thread pool of its own.

argon2 is CPU and memory bound (≈20 ms and 19 MiB per hash at the OWASP
parameters): on the event loop it would stall every other request. argon2-cffi
releases the GIL while hashing, so a pool of one thread per core runs hashes
in parallel, and a queue forms there rather than on the loop.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from argon2 import PasswordHasher as Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@dataclass(frozen=True)
class Verification:
    ok: bool
    needs_rehash: bool = False


class PasswordHasher:
    """Hash and verify passwords with argon2id without blocking the event loop."""

    def __init__(
        self,
        *,
        time_cost: int,
        memory_kib: int,
        parallelism: int,
        workers: int = 0,
    ) -> None:
        self._argon2 = Argon2(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=workers or os.cpu_count() or 2, thread_name_prefix="argon2"
        )
        # Verified against when the account does not exist, so that an unknown email takes
        # as long as a wrong password (no enumeration by timing).
        self._decoy = self._argon2.hash(os.urandom(16).hex())

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._argon2.hash, password
        )

    async def verify(self, stored_hash: str | None, password: str) -> Verification:
        """Check ``password`` against ``stored_hash`` (``None``: spend the same time, fail)."""
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._verify, stored_hash, password
        )

    def _verify(self, stored_hash: str | None, password: str) -> Verification:
        try:
            self._argon2.verify(stored_hash or self._decoy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verification(ok=False)
        if stored_hash is None:
            return Verification(ok=False)
        return Verification(ok=True, needs_rehash=self._argon2.check_needs_rehash(stored_hash))

    async def matches_any(self, stored_hashes: list[str], password: str) -> bool:
        """True if ``password`` is one of these (the password history)."""
        for stored in stored_hashes:
            if (await self.verify(stored, password)).ok:
                return True
        return False

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
