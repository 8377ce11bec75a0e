"""Database failures leave the SQL adapters as StorageFailed (DATABASE_ERROR), whatever the driver raised."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from application.ports import StorageFailed

log = logging.getLogger("vedfolnir.sql")

# Driver errors (SQLAlchemy wraps them all in DBAPIError), pool timeouts, and what asyncpg/aiosqlite
# let through unwrapped when a connection cannot be made (OSError covers refused, reset, timed out).
STORAGE_ERRORS = (DBAPIError, PoolTimeout, OSError)

C = TypeVar("C", bound=type)


def storage_errors(cls: C) -> C:
    """Wraps every public coroutine method of a repository class so driver errors become StorageFailed."""
    for name, method in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(method):
            setattr(cls, name, _translated(f"{cls.__name__}.{name}", method))
    return cls


def _translated(what: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except STORAGE_ERRORS as exc:
            raise storage_failed(what, exc) from exc

    return wrapper


def storage_failed(what: str, exc: BaseException) -> StorageFailed:
    """Logs a driver error (the type and the driver's first line only: statements and parameters may hold
    user data) and gives the StorageFailed to raise in its place."""
    first_line = next(iter(str(getattr(exc, "orig", None) or exc).splitlines()), "")[:200]
    log.warning("%s failed: %s: %s", what, type(exc).__name__, first_line)
    return StorageFailed()
