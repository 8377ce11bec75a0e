"""SQLAlchemy async adapters for SQLite (aiosqlite) and Postgres (asyncpg), with Alembic migrations."""
