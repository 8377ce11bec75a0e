"""Input rules and access rules of the domain."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.access import authorize_connection, check_room_access, check_user_scope
from domain.errors import DomainError, ErrorCode
from domain.events import CLIENT_EVENT_SCHEMAS, USER_NOTIFICATION_SCHEMA
from domain.identity import Role, Session, User
from domain.messages import iso_utc
from domain.validation import parse_iso8601, safe_url, validate

ALICE = User(7, "alice", Role.REVIEWER)
ROOT = User(1, "root", Role.ADMIN)


def session(**kw: object) -> Session:
    base = {"id": "s", "user_id": 7, "csrf_token": "c", "created_at": 0.0, "last_seen_at": 0.0, "expires_at": 100.0}
    base.update(kw)
    return Session(**base)  # type: ignore[arg-type]


def code_of(fn, *args) -> ErrorCode:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as err:
        fn(*args)
    return err.value.code


def test_connection_authorization() -> None:
    assert authorize_connection(session(), ALICE, "/", 50.0) is ALICE
    assert code_of(authorize_connection, None, None, "/", 0.0) is ErrorCode.AUTH_INVALID_SESSION
    assert code_of(authorize_connection, session(), ALICE, "/", 100.0) is ErrorCode.AUTH_INVALID_SESSION
    assert code_of(authorize_connection, session(revoked=True), ALICE, "/", 1.0) is ErrorCode.AUTH_INVALID_SESSION
    inactive = User(7, "alice", Role.REVIEWER, active=False)
    assert code_of(authorize_connection, session(), inactive, "/", 1.0) is ErrorCode.AUTH_INVALID_SESSION
    assert code_of(authorize_connection, session(), ALICE, "/admin", 1.0) is ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES
    assert authorize_connection(session(user_id=1), ROOT, "/admin", 1.0) is ROOT


@pytest.mark.parametrize("room", ["user_7", "user_7_captions", "user_7_a:b.c-d"])
def test_own_rooms_are_allowed(room: str) -> None:
    check_room_access(ALICE, room)


@pytest.mark.parametrize("room", ["user_8", "user_70", "user_8_captions", "admins", "user_", "x"])
def test_other_rooms_are_refused(room: str) -> None:
    assert code_of(check_room_access, ALICE, room) is ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES
    check_room_access(ROOT, room)


@pytest.mark.parametrize("room", ["", "a b", "<b>", "x" * 101])
def test_malformed_room_names_are_invalid(room: str) -> None:
    assert code_of(check_room_access, ROOT, room) is ErrorCode.INVALID_MESSAGE


def test_user_scope() -> None:
    check_user_scope(ALICE, 7)
    check_user_scope(ROOT, 7)
    assert code_of(check_user_scope, ALICE, 8) is ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES


def test_validation_cleans_and_escapes() -> None:
    cleaned = validate(CLIENT_EVENT_SCHEMAS["pause_caption_generation"], {"reason": "<i>tea</i>", "user_id": 3.0})
    assert cleaned == {"reason": "&lt;i&gt;tea&lt;/i&gt;", "user_id": 3}


@pytest.mark.parametrize(
    "data",
    [
        {"user_id": True},
        {"user_id": math.inf},
        {"user_id": math.nan},
        {"user_id": 0},
        {"user_id": 2**60},
        {"reason": "\ud800"},
        {"reason": "x" * 201},
        {"unknown": 1},
        {"timestamp": "2025-13-45T99:00:00Z"},
        [1, 2],
    ],
)
def test_invalid_inputs(data: object) -> None:
    assert code_of(validate, CLIENT_EVENT_SCHEMAS["pause_caption_generation"], data) is ErrorCode.INVALID_MESSAGE


@given(st.text(max_size=1000))
def test_any_valid_string_is_escaped_and_never_longer_than_escaping_allows(text: str) -> None:
    try:
        out = validate(USER_NOTIFICATION_SCHEMA, {"user_id": 1, "title": text, "message": "m"})
    except DomainError as err:
        assert err.code is ErrorCode.INVALID_MESSAGE  # only lone surrogates fail
        return
    assert "<" not in out["title"] and ">" not in out["title"]


def test_timestamps_and_urls() -> None:
    assert parse_iso8601("2025-01-15T10:30:00Z") is not None
    assert parse_iso8601("2025-01-15T10:30:00.123+02:00") is not None
    assert parse_iso8601("soon") is None
    assert iso_utc(0) == "1970-01-01T00:00:00.000Z"
    assert safe_url("/captions/review") and safe_url("https://x.example/p")
    assert not safe_url("javascript:alert(1)") and not safe_url("//evil.example") and not safe_url("data:text/html,x")
    assert not safe_url("/\\evil.example/x") and not safe_url("/\t/evil.example") and not safe_url("/a b")


def test_the_clients_own_correlation_id_is_echoed_else_its_message_id() -> None:
    from domain.validation import correlation_id_of

    assert correlation_id_of({"correlation_id": "req-7", "message_id": "m-1"}) == "req-7"
    assert correlation_id_of({"message_id": "m-1"}) == "m-1"
    assert correlation_id_of({"correlation_id": "<b>x</b>", "message_id": "m-1"}) == "m-1"
    assert correlation_id_of({"correlation_id": "<b>x</b>"}) is None
    assert correlation_id_of(["correlation_id"]) is None
