"""A connection whose request aiohttp refused to parse (header limits, bad request line) stops being read; its 400 says nosniff."""

from __future__ import annotations

import weakref
from typing import Any, cast

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

# Why (private seams, quarantined here; see docs/upstream-overrides.md): after a parse error aiohttp keeps reading
# the connection until its task has written the 400, and each chunk read meanwhile becomes one more queued error
# whose traceback holds that chunk (up to 256 KB) in a reference cycle. A client sending 100 headers of 8 KB made
# the server hold most of the request. Here the first refusal pauses reading: the 400 is still written, then
# aiohttp closes the connection; the rest of the request stays in the kernel's buffer, not in our memory.


class _ParserStopsReadingOnRefusal:
    """Proxy of a handler's request parser: a refused request pauses the transport before the error propagates."""

    def __init__(self, parser: Any, handler: RequestHandler) -> None:
        self._parser = parser
        self._handler = weakref.ref(handler)  # no new cycle between the handler and its parser

    def feed_data(self, data: bytes) -> Any:
        try:
            return self._parser.feed_data(data)
        except HttpProcessingError:
            handler = self._handler()
            transport = handler.transport if handler is not None else None
            if transport is not None and not transport.is_closing():
                transport.pause_reading()
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


class _RefusingRequestHandler(RequestHandler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parser = cast(Any, _ParserStopsReadingOnRefusal(self._parser, self))

    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> StreamResponse:
        """aiohttp's own error answers (a request it could not parse: its text quotes the request) bypass the
        application's on_response_prepare, so they get `nosniff` here like every other answer."""
        response = super().handle_error(request, status, exc, message)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


class _RefusingServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _RefusingRequestHandler(self, loop=self._loop, **self._kwargs)


class RefusingAppRunner(web.AppRunner):
    """`web.AppRunner` whose connections stop reading at their first unparsable request."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _RefusingServer  # the same object and state; only the protocol factory differs
        return server
