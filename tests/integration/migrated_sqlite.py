"""SQLite databases at the newest schema for tests, copied from one this test process migrated once.

Alembic takes ~50 ms of CPU per migration run (several times that with the suite's workers beside it); a copy of a
migrated file takes under 1 ms. Migrating an empty database stays the subject of test_migrations.py and of the
child-process tests, which still start on empty files.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from adapters.outbound.sql.engine import migrate

_sqlite_template: Path | None = None


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite `url`, or None (another database, or one in memory)."""
    if not url.startswith("sqlite"):
        return None
    parsed = make_url(url)
    if parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


async def copy_migrated_sqlite(path: Path) -> None:
    """Makes `path` (which must not exist) a SQLite database at the newest schema."""
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="vedfolnir-template-"))
        atexit.register(shutil.rmtree, folder, True)
        template = folder / "template.db"
        await migrate(f"sqlite+aiosqlite:///{template}")
        _sqlite_template = template
    # The backup API, not a file copy: it reads through SQLite, so nothing still in a -wal file is missed.
    with closing(sqlite3.connect(_sqlite_template)) as source, closing(sqlite3.connect(path)) as target:
        source.backup(target)
