"""Encryption of platform access tokens at rest (Fernet: AES-128-CBC with HMAC-SHA256), keyed from configuration."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from application.ports import PlatformUnavailable, Unavailable


class TokenCipher:
    """Encrypts with PLATFORM_TOKEN_KEY; without a key it refuses to store or read tokens."""

    def __init__(self, key: str | None) -> None:
        self._fernet = Fernet(key.encode()) if key else None

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, token: str) -> str:
        if self._fernet is None:
            raise Unavailable("PLATFORM_TOKEN_KEY is not set: platform tokens cannot be stored", False)
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        if self._fernet is None:
            raise PlatformUnavailable("PLATFORM_TOKEN_KEY is not set: the stored token cannot be read", False)
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise PlatformUnavailable("The stored token does not open with PLATFORM_TOKEN_KEY", False) from None
