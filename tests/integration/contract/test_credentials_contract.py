"""PlatformCredentials contract, run against every backend: tokens stored encrypted, read back with the key only."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from adapters.outbound.crypto import TokenCipher
from application.port_errors import Unavailable
from application.ports import PlatformUnavailable
from domain.identity import Role
from domain.platforms import PlatformConnection, PlatformType

if TYPE_CHECKING:
    from conftest import Backend

KEY = TokenCipher.new_key()


async def _platform(backend: Backend, name: str = "Pix") -> PlatformConnection:
    owner = await backend.users.add(f"owner{name.lower()}", Role.REVIEWER)
    return await backend.platforms.add(owner.id, name, PlatformType.PIXELFED, "https://pix.example")


async def test_a_stored_token_reads_back_and_a_new_one_replaces_it(backend: Backend) -> None:
    store = backend.credentials(TokenCipher(KEY))
    pix, other = await _platform(backend), await _platform(backend, "Other")
    await store.store(pix.id, "first-token")
    await store.store(other.id, "other-token")
    assert await store.token_for(pix) == "first-token"
    await store.store(pix.id, "second-token")
    assert await store.token_for(pix) == "second-token"
    assert await store.token_for(other) == "other-token"


async def test_without_a_stored_token_the_platform_is_unavailable_for_good(backend: Backend) -> None:
    store = backend.credentials(TokenCipher(KEY))
    with pytest.raises(PlatformUnavailable) as caught:
        await store.token_for(await _platform(backend))
    assert caught.value.retry_possible is False


async def test_another_key_cannot_read_and_no_key_cannot_store(backend: Backend) -> None:
    pix = await _platform(backend)
    await backend.credentials(TokenCipher(KEY)).store(pix.id, "secret-token")
    for reader in (backend.credentials(TokenCipher(TokenCipher.new_key())), backend.credentials(TokenCipher(None))):
        with pytest.raises(PlatformUnavailable) as caught:
            await reader.token_for(pix)
        assert caught.value.retry_possible is False and "secret-token" not in str(caught.value)
    keyless = backend.credentials(TokenCipher(None))
    with pytest.raises(Unavailable, match="PLATFORM_TOKEN_KEY"):
        keyless.check_ready()
    with pytest.raises(Unavailable, match="PLATFORM_TOKEN_KEY"):
        await keyless.store(pix.id, "another")
    backend.credentials(TokenCipher(KEY)).check_ready()
    assert await backend.credentials(TokenCipher(KEY)).token_for(pix) == "secret-token"
