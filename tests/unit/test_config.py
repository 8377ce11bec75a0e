"""Settings: the documented environment names, comma lists, and inconsistent settings refused when built."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from composition.config import ExplicitSettings, Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_comma_lists_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCKETIO_CORS_ORIGINS", "https://a.example/, https://b.example,")
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.1 , 10.1.0.0/16")
    monkeypatch.setenv("FLASK_SECRET_KEY_FALLBACKS", "old")
    monkeypatch.setenv("FLASK_PORT", "8123")
    settings = Settings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.trusted_proxies == ["10.0.0.1", "10.1.0.0/16"]
    assert settings.flask_secret_key_fallbacks == ["old"]
    assert settings.flask_port == 8123


def test_a_bare_host_or_port_variable_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "evil.example")
    monkeypatch.setenv("PORT", "1")
    settings = Settings()
    assert (settings.flask_host, settings.flask_port) == ("127.0.0.1", 5000)


def test_the_default_origins_follow_the_served_address() -> None:
    assert ExplicitSettings(flask_port=7000).cors_origins == [
        "http://127.0.0.1:7000",
        "http://localhost:7000",
        "https://127.0.0.1:7000",
        "https://localhost:7000",
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"socketio_cors_origins": "*"}, "CORS_ALLOW_WILDCARD"),
        ({"run_jobs": "workers"}, "needs REDIS_URL"),
        ({"session_source": "flask"}, "needs HOST_DATABASE_URL"),
        (
            {
                "session_source": "flask",
                "host_database_url": "sqlite+aiosqlite:///h.db",
                "socketio_cors_origins": "*",
                "cors_allow_wildcard": True,
            },
            "CORS_CREDENTIALS_ERROR",
        ),
        ({"run_jobs": "sometimes"}, "run_jobs"),
        ({"drain_seconds": -1}, "drain_seconds"),  # a pause may be zero, never negative
        ({"drain_readiness_seconds": -0.5}, "drain_readiness_seconds"),
        ({"session_check_interval": 0}, "session_check_interval"),  # a period of 0 would spin
        ({"max_connections_per_user": 0}, "max_connections_per_user"),
        ({"ollama_retries": -1}, "ollama_retries"),
    ],
)
def test_inconsistent_settings_are_refused_when_built(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExplicitSettings(**values)


def test_every_setting_is_documented_in_the_readme() -> None:
    documented = {name.lower() for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", README.read_text())}
    assert set(Settings.model_fields) - documented == set()


def test_the_cli_stops_on_invalid_settings_with_a_json_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from entrypoints.cli import main

    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("RUN_JOBS", "workers")
    assert main(["keys", "new"]) == 2
    captured = capsys.readouterr()
    error = json.loads(captured.err)
    assert error["error_code"] == "INVALID_SETTINGS" and "REDIS_URL" in error["error_message"]
    assert captured.out == ""
