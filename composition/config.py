"""Every setting, read from the environment and checked whole when built (README's Configuration lists them)."""

from __future__ import annotations

import os
import socket
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from adapters.inbound.outbound_budget import OutboundLimits
from application.limits import Limits
from domain.rate_limit import RateRule

MEMORY = "memory"
LOOPBACK = ("127.0.0.1", "localhost", "0.0.0.0", "::1")

# Bounds: a period or timeout is positive, a pause may be zero, a limit or size is at least 1, and a retry count
# or an "every N" (0: never) at least 0.
Seconds = Annotated[float, Field(gt=0)]
Pause = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(gt=0)]
ZeroOrMore = Annotated[int, Field(ge=0)]

# A comma list in the environment ("a, b,"), a list in code; NoDecode keeps pydantic-settings from wanting JSON.
CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Each field is the environment variable of its name in upper case (case-insensitive)."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = "sqlite+aiosqlite:///vedfolnir-realtime.db"
    auto_migrate: bool = True
    # FLASK_HOST/FLASK_PORT: the names Vedfolnir's deployments already set (a bare HOST or PORT is often set
    # by shells and platforms for something else, so these are deliberately not read).
    flask_host: str = "127.0.0.1"
    flask_port: int = 5000
    socketio_cors_origins: CommaList = []
    cors_allow_wildcard: bool = False
    session_cookie_name: str = "session"
    session_ttl_seconds: Count = 86400
    login_url: str = "/login"
    api_token: str | None = None
    trusted_proxies: CommaList = []
    rate_limit_messages: Count = 100
    rate_limit_window_seconds: Seconds = 60.0
    max_connections_per_user: Count = 5
    connect_attempts_per_hour: Count = 100
    max_message_bytes: Count = 10 * 1024
    socket_outbound_max_packets: Count = 1000
    socket_outbound_max_bytes: Count = 1024 * 1024
    socket_write_timeout_seconds: Seconds = 10.0
    handshakes_per_ip_per_minute: Count = 120
    connect_timeout_seconds: Seconds = 10.0
    http_max_headers: Count = 64
    http_max_field_size: Count = 8190
    system_status_interval: Seconds = 10.0
    session_check_interval: Seconds = 2.0
    demo_mode: bool = False
    demo_posts: Count = 25
    demo_caption_seconds: Pause = 2.0
    demo_failure_every: ZeroOrMore = 12
    demo_page_delay: Pause = 0.2
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    drain_seconds: Pause = 20.0
    drain_readiness_seconds: Pause = 1.0
    redis_url: str | None = None
    redis_channel: str = "vedfolnir-realtime"
    node_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    run_jobs: Literal["inline", "workers"] = "inline"
    connection_lease_seconds: Seconds = 30.0
    job_lease_seconds: Seconds = 15.0
    worker_poll_seconds: Seconds = 1.0
    job_recheck_seconds: Seconds = 5.0
    job_max_attempts: Count = 3
    post_source: Literal["demo", "mastodon"] = "demo"
    caption_generator: Literal["demo", "ollama"] = "demo"
    platform_token_key: str | None = None
    platform_page_size: Count = 40
    platform_timeout: Seconds = 15.0
    ollama_url: str = "http://127.0.0.1:11434"
    ollama_model: str = "llava"
    ollama_prompt: str | None = None
    ollama_timeout: Seconds = 120.0
    ollama_retries: ZeroOrMore = 2
    caption_max_chars: Count = 500
    image_max_bytes: Count = 10 * 1024 * 1024
    refusal_mode: Literal["event", "connect_error"] = "event"
    refusal_backoff_max_seconds: Pause = 8.0
    refusals_before_hard_refusal: int = 8
    csrf_mode: Literal["origin", "token"] = "origin"
    connect_check_timeout: Seconds = 10.0
    # Where sessions come from: "own" (issued by this service) or "flask" (the host's signed cookie).
    session_source: Literal["own", "flask"] = "own"
    flask_secret_key: str | None = None
    flask_secret_key_fallbacks: CommaList = []
    flask_session_lifetime: float = 31 * 86400.0
    host_database_url: str | None = None
    wtf_csrf_secret_key: str | None = None
    wtf_csrf_time_limit: float = 3600.0
    publish_poll_seconds: Seconds = 5.0
    publish_claim_seconds: Seconds = 300.0
    publish_retries: ZeroOrMore = 3
    demo_publish_delay: Pause = 0.2
    metrics_port: int | None = None
    recovery_enabled: bool = True
    recovery_window_seconds: Seconds = 120.0
    recovery_max_replay: int = 1000
    recovery_buffer_per_room: int = 1000
    recovery_log_events: int = 100_000

    @field_validator("socketio_cors_origins", "trusted_proxies", "flask_secret_key_fallbacks", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        items = value.split(",") if isinstance(value, str) else value
        return [str(item).strip() for item in items if str(item).strip()] if isinstance(items, list) else items

    @field_validator("socketio_cors_origins")
    @classmethod
    def _origins_without_slash(cls, origins: list[str]) -> list[str]:
        return [origin.rstrip("/") for origin in origins]

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if "*" in self.socketio_cors_origins and not self.cors_allow_wildcard:
            raise ValueError("SOCKETIO_CORS_ORIGINS='*' needs CORS_ALLOW_WILDCARD=true (development only)")
        if self.run_jobs == "workers" and not self.redis_url:
            raise ValueError("RUN_JOBS=workers needs REDIS_URL: the workers and the nodes meet on Redis")
        if self.session_source == "flask":
            if not self.host_database_url:
                raise ValueError(
                    "SESSION_SOURCE=flask needs HOST_DATABASE_URL (the Vedfolnir database with its users table)"
                )
            if "*" in self.socketio_cors_origins:
                raise ValueError(
                    "CORS_CREDENTIALS_ERROR: SOCKETIO_CORS_ORIGINS='*' cannot be used with SESSION_SOURCE=flask: "
                    "the host's cookie would let any site's page connect as its user; list the Vedfolnir origins"
                )
        return self

    # What follows is derived, never stored: pure functions of the fields above.

    @property
    def backend(self) -> str:
        return MEMORY if self.database_url == MEMORY else "sql"

    @property
    def bus(self) -> str:
        return "redis" if self.redis_url else MEMORY

    @property
    def jobs_inline(self) -> bool:
        return self.run_jobs == "inline"

    @property
    def recovery_mode(self) -> str:
        return "on" if self.recovery_enabled else "off"

    def redis_key(self, name: str) -> str:
        """Every key and channel of a deployment starts with REDIS_CHANNEL, so deployments may share a Redis."""
        return f"{self.redis_channel}:{name}"

    @property
    def jobs_channel(self) -> str:
        return self.redis_key("jobs")

    @property
    def revocations_channel(self) -> str:
        return self.redis_key("revoked")

    @property
    def cors_wildcard(self) -> bool:
        return "*" in self.socketio_cors_origins

    @property
    def cors_origins(self) -> list[str] | str:
        """SOCKETIO_CORS_ORIGINS if set, else http(s)://FLASK_HOST:FLASK_PORT with localhost == 127.0.0.1."""
        if self.cors_wildcard:
            return "*"
        if self.socketio_cors_origins:
            return list(self.socketio_cors_origins)
        hosts = {"127.0.0.1", "localhost"} if self.flask_host in LOOPBACK else {self.flask_host}
        return sorted(f"{scheme}://{host}:{self.flask_port}" for scheme in ("http", "https") for host in hosts)

    @property
    def trusted_proxy_list(self) -> list[str]:
        return list(self.trusted_proxies)

    @property
    def limits(self) -> Limits:
        return Limits(
            messages=RateRule(self.rate_limit_messages, self.rate_limit_window_seconds),
            connect_attempts=RateRule(self.connect_attempts_per_hour, 3600.0),
            connections_per_user=self.max_connections_per_user,
            max_message_bytes=self.max_message_bytes,
        )

    @property
    def outbound_limits(self) -> OutboundLimits:
        return OutboundLimits(
            self.socket_outbound_max_packets, self.socket_outbound_max_bytes, self.socket_write_timeout_seconds
        )


class ExplicitSettings(Settings):
    """Settings from the values given and the defaults only, never the environment: for tests and embedding
    hosts, where a stray REDIS_URL or DATABASE_URL in the surrounding shell must not change what runs."""

    @classmethod
    def settings_customise_sources(cls, settings_cls: Any, init_settings: Any, *_: Any, **__: Any) -> tuple[Any, ...]:
        return (init_settings,)
