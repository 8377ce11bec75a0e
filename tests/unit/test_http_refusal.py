"""A request aiohttp's parser refuses pauses its connection's reading before the error reaches aiohttp."""

from __future__ import annotations

from unittest import mock

import pytest
from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.http_parser import HttpRequestParser

from adapters.inbound.http_refusal import _ParserStopsReadingOnRefusal

HEAD = b"GET /socket.io/ HTTP/1.1\r\nHost: x\r\n"


class _Handler:
    def __init__(self) -> None:
        self.transport = mock.Mock()
        self.transport.is_closing.return_value = False


def _parser(handler: _Handler) -> _ParserStopsReadingOnRefusal:
    real = HttpRequestParser(mock.Mock(), mock.Mock(), 2**16, max_headers=64, max_field_size=8190)  # no loop needed
    return _ParserStopsReadingOnRefusal(real, handler)  # type: ignore[arg-type]


def test_too_many_headers_pause_reading_and_still_raise() -> None:
    handler = _Handler()
    headers = b"".join(b"X-Padding-%d: p\r\n" % i for i in range(100))
    with pytest.raises(BadHttpMessage):
        _parser(handler).feed_data(HEAD + headers + b"\r\n")
    handler.transport.pause_reading.assert_called_once()


def test_a_browser_sized_request_is_parsed_and_reading_goes_on() -> None:
    handler = _Handler()
    parser = _parser(handler)
    messages, upgraded, _ = parser.feed_data(HEAD + b"Cookie: session=" + b"e" * 4096 + b"\r\n\r\n")
    assert len(messages) == 1 and not upgraded
    assert messages[0][0].headers["Cookie"].startswith("session=e")
    handler.transport.pause_reading.assert_not_called()
    parser.set_upgraded(False)  # anything else is the real parser's
