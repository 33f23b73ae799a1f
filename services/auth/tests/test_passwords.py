"""The password policy and argon2id hashing."""

from __future__ import annotations

import asyncio

import pytest

from agentbus_auth.errors import WeakPassword
from agentbus_auth.passwords.hasher import PasswordHasher
from agentbus_auth.passwords.policy import PasswordPolicy, common_passwords

policy = PasswordPolicy()


@pytest.mark.parametrize(
    "password",
    [
        "Password1234!",
        "P@ssw0rd2024",
        "qwertyuiop123",
        "iloveyou12345",
        "dragondragon99",
        "monkey123456789",
        "aaaaaaaaaaaaaa",
        "abcdefghijklmn",
        "123456789012",
        "ababababababab",
    ],
)
def test_common_and_repetitive_passwords_are_refused(password: str) -> None:
    assert policy.problems(password)


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "glacier-violin-tangerine-42",
        "Tr0ub4dor&3xyzq",
        "zz9 plural z alpha",
    ],
)
def test_long_uncommon_passwords_are_accepted(password: str) -> None:
    assert policy.problems(password) == []


def test_too_short_and_too_long_are_refused() -> None:
    assert policy.problems("short-1") == ["Use at least 12 characters."]
    assert policy.problems("x" * 1025) == ["Use at most 1024 characters."]


def test_the_email_or_name_cannot_be_in_the_password() -> None:
    assert policy.problems("lovelace-engine-1843", email="ada.lovelace@example.com")
    assert policy.problems("my-name-is-Grace-Hopper", display_name="Grace Hopper")
    assert not policy.problems("velvet-mountain-9077", email="ada@example.com", display_name="Ada")


def test_enforce_raises_a_validation_error_with_every_reason() -> None:
    with pytest.raises(WeakPassword) as caught:
        policy.enforce("alice1234567", email="alice@example.com", field="new_password")
    assert caught.value.status == 422
    assert [d["loc"] for d in caught.value.details] == [["new_password"]] * len(
        caught.value.details
    )


def test_the_shipped_blocklist_is_loaded() -> None:
    blocklist = common_passwords()
    assert len(blocklist) >= 30_000
    assert "password" in blocklist


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_kib=8 * 1024, parallelism=1, workers=2)


async def test_hashes_are_argon2id_and_verify(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("glacier-violin-tangerine-42")
    assert stored.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    assert (await hasher.verify(stored, "glacier-violin-tangerine-42")).ok
    assert not (await hasher.verify(stored, "glacier-violin-tangerine-43")).ok
    assert not (await hasher.verify("not-a-hash", "x")).ok
    assert not (await hasher.verify(None, "anything")).ok


async def test_parameter_changes_ask_for_a_rehash(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("glacier-violin-tangerine-42")
    stronger = PasswordHasher(time_cost=2, memory_kib=8 * 1024, parallelism=1)
    assert (await stronger.verify(stored, "glacier-violin-tangerine-42")).needs_rehash
    assert not (await hasher.verify(stored, "glacier-violin-tangerine-42")).needs_rehash


async def test_hashing_does_not_block_the_event_loop() -> None:
    slow = PasswordHasher(time_cost=3, memory_kib=64 * 1024, parallelism=1, workers=1)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    ticks = 0
    await slow.hash("glacier-violin-tangerine-42")  # ≈ 150 ms of argon2
    task.cancel()
    # A hash on the loop would leave the ticker one turn at most; off the loop it keeps going.
    assert ticks >= 5
