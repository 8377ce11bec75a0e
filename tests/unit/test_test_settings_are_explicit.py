"""Test servers and child processes get only the settings a test gives them, never the surrounding shell's."""

from __future__ import annotations

import pytest

import bootstrap
from tests.integration.harness import settings_for
from tests.integration.processes import child_env

STRAYS = {
    "REDIS_URL": "redis://stray.invalid:6379/0",
    "DATABASE_URL": "postgresql+asyncpg://stray/x",
    "DEMO_POSTS": "999",
}


@pytest.fixture
def stray_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in STRAYS.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("stray_environment")
def test_the_environment_does_reach_production_settings() -> None:
    # The contrast that makes the next tests mean something: Settings() reads the environment.
    settings = bootstrap.Settings()
    assert (settings.redis_url, settings.database_url, settings.demo_posts) == (
        STRAYS["REDIS_URL"],
        STRAYS["DATABASE_URL"],
        999,
    )


@pytest.mark.usefixtures("stray_environment")
def test_harness_settings_ignore_the_environment() -> None:
    settings = settings_for("sqlite+aiosqlite:///x.db", demo_posts=3)
    assert settings.redis_url is None and settings.bus == "memory"
    assert settings.database_url == "sqlite+aiosqlite:///x.db" and settings.demo_posts == 3
    assert bootstrap.ExplicitSettings().database_url == bootstrap.Settings.model_fields["database_url"].default


@pytest.mark.usefixtures("stray_environment")
def test_child_processes_get_only_explicit_settings() -> None:
    env = child_env({"DATABASE_URL": "memory"})
    assert "REDIS_URL" not in env and "DEMO_POSTS" not in env
    assert env["DATABASE_URL"] == "memory" and "PATH" in env
