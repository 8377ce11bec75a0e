"""PlatformCredentials in memory, still encrypted, so the twin behaves like the SQL store."""

from __future__ import annotations

from adapters.outbound.crypto import TokenCipher
from application.ports import PlatformUnavailable
from domain.platforms import PlatformConnection


class InMemoryPlatformCredentials:
    def __init__(self, cipher: TokenCipher) -> None:
        self._cipher = cipher
        self._ciphertexts: dict[int, str] = {}

    def check_ready(self) -> None:
        self._cipher.encrypt("")

    def snapshot(self) -> dict[int, str]:
        """For InMemoryUnitOfWork."""
        return dict(self._ciphertexts)

    def restore(self, state: dict[int, str]) -> None:
        self._ciphertexts.clear()
        self._ciphertexts.update(state)

    async def store(self, platform_id: int, token: str) -> None:
        self._ciphertexts[platform_id] = self._cipher.encrypt(token)

    async def token_for(self, platform: PlatformConnection) -> str:
        ciphertext = self._ciphertexts.get(platform.id)
        if ciphertext is None:
            raise PlatformUnavailable(f"No access token is stored for platform connection {platform.id}", False)
        return self._cipher.decrypt(ciphertext)
