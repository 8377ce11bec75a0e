"""OllamaCaptionGenerator against a fake Ollama on 127.0.0.1: the request it sends, cleaning, failures, retries."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import aiohttp
import pytest

from adapters.outbound.ollama import OllamaCaptionGenerator, clean_caption
from application.ports import CaptionFailure
from domain.jobs import PostImage
from tests.integration.fakes import unused_port
from tests.integration.fakes.ollama import TINY_PNG, FakeOllama, tiny_png


@pytest.fixture
async def ollama() -> AsyncIterator[FakeOllama]:
    server = FakeOllama()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def generator(
    http: aiohttp.ClientSession | None,
    base_url: str,
    timeout: float = 1.0,
    max_retries: int = 2,
    max_image_bytes: int = 1024 * 1024,
) -> OllamaCaptionGenerator:
    return OllamaCaptionGenerator(
        http,
        base_url,
        model="llava",
        timeout=timeout,
        max_image_bytes=max_image_bytes,
        max_retries=max_retries,
        download_timeout=1.0,
        backoff=0.01,
    )


def post(image_url: str) -> PostImage:
    return PostImage("1000", "https://pix.example/p/1000", image_url)


async def failure(gen: OllamaCaptionGenerator, image_url: str) -> CaptionFailure:
    with pytest.raises(CaptionFailure) as caught:
        await gen.caption(post(image_url))
    return caught.value


async def test_a_caption_from_the_exact_image(ollama: FakeOllama, http: aiohttp.ClientSession) -> None:
    image = tiny_png(10, 200, 30)
    ollama.response = '  "A green   pixel\non white."  '
    caption = await generator(http, ollama.base_url).caption(post(ollama.add_image("green.png", image)))
    assert caption.text == "A green pixel on white."
    assert caption.confidence_score is None
    assert 0 < caption.processing_time < 2
    (sent,) = ollama.generated
    assert sent["model"] == "llava"
    assert sent["stream"] is False
    assert sent["images"] == [base64.b64encode(image).decode("ascii")]
    assert "alt text" in sent["prompt"]


def test_captions_are_cleaned() -> None:
    assert clean_caption("\n 'A cat'\t", 500) == "A cat"
    assert clean_caption("Alt text: \u201cA cat on a mat\u201d", 500) == "A cat on a mat"
    assert clean_caption('The sign says "OPEN"', 500) == 'The sign says "OPEN"'
    assert clean_caption("one two three four", 13) == "one two three"
    assert clean_caption("one two three four", 12) == "one two"
    assert clean_caption("abcdefghij", 4) == "abcd"
    assert clean_caption('  ""  ', 500) == ""


async def test_an_empty_answer_is_retried_then_reported(ollama: FakeOllama, http: aiohttp.ClientSession) -> None:
    ollama.response = "   "
    caught = await failure(generator(http, ollama.base_url, max_retries=1), ollama.add_image("a.png"))
    assert (caught.error_type, caught.retry_possible) == ("OLLAMA_EMPTY_RESPONSE", True)
    assert len(ollama.generated) == 2


async def test_a_slow_model_times_out(ollama: FakeOllama, http: aiohttp.ClientSession) -> None:
    ollama.delay = 1.0
    caught = await failure(generator(http, ollama.base_url, timeout=0.2, max_retries=0), ollama.add_image("a.png"))
    assert (caught.error_type, caught.retry_possible) == ("OLLAMA_TIMEOUT", True)


async def test_a_missing_model_is_final_and_not_retried(http: aiohttp.ClientSession) -> None:
    ollama = FakeOllama(models=["moondream:latest"])
    await ollama.start()
    try:
        caught = await failure(generator(http, ollama.base_url), ollama.add_image("a.png"))
    finally:
        await ollama.stop()
    assert (caught.error_type, caught.retry_possible) == ("OLLAMA_MODEL_NOT_FOUND", False)
    assert len(ollama.generated) == 1


async def test_server_errors_are_retried_then_succeed(ollama: FakeOllama, http: aiohttp.ClientSession) -> None:
    ollama.failures = [500, 503]
    caption = await generator(http, ollama.base_url, max_retries=2).caption(post(ollama.add_image("a.png")))
    assert caption.text == "A red pixel."
    assert len(ollama.generated) == 3


async def test_retries_are_bounded(ollama: FakeOllama, http: aiohttp.ClientSession) -> None:
    ollama.failures = [500] * 10
    caught = await failure(generator(http, ollama.base_url, max_retries=2), ollama.add_image("a.png"))
    assert (caught.error_type, caught.retry_possible) == ("OLLAMA_SERVER_ERROR", True)
    assert len(ollama.generated) == 3


async def test_nothing_listening_is_a_connection_error(ollama: FakeOllama, http: aiohttp.ClientSession) -> None:
    gen = generator(http, f"http://127.0.0.1:{unused_port()}", max_retries=1)
    caught = await failure(gen, ollama.add_image("a.png"))
    assert (caught.error_type, caught.retry_possible) == ("OLLAMA_CONNECTION_ERROR", True)
    assert len(ollama.hits("/images/")) == 1  # the image is downloaded once, the generation retried


async def test_content_that_is_not_an_image(ollama: FakeOllama, http: aiohttp.ClientSession) -> None:
    url = ollama.add_image("page.html", b"<html>nope</html>", content_type="text/html")
    caught = await failure(generator(http, ollama.base_url), url)
    assert (caught.error_type, caught.retry_possible) == ("INVALID_IMAGE", False)
    assert ollama.generated == []


@pytest.mark.parametrize("chunked", [False, True])
async def test_an_image_over_the_size_cap(ollama: FakeOllama, http: aiohttp.ClientSession, chunked: bool) -> None:
    url = ollama.add_image("big.png", TINY_PNG + b"\0" * 200_000, chunked=chunked)
    caught = await failure(generator(http, ollama.base_url, max_image_bytes=100_000), url)
    assert (caught.error_type, caught.retry_possible) == ("INVALID_IMAGE", False)
    assert "larger than" in caught.message
    assert ollama.generated == []


async def test_a_missing_image_is_a_final_download_error(ollama: FakeOllama, http: aiohttp.ClientSession) -> None:
    caught = await failure(generator(http, ollama.base_url), f"{ollama.base_url}/images/gone.png")
    assert (caught.error_type, caught.retry_possible) == ("IMAGE_DOWNLOAD_ERROR", False)
    assert len(ollama.hits("/images/")) == 1


async def test_an_unreachable_image_host_is_retried(http: aiohttp.ClientSession) -> None:
    gen = generator(http, "http://127.0.0.1:9", max_retries=1)
    caught = await failure(gen, f"http://127.0.0.1:{unused_port()}/a.png")
    assert (caught.error_type, caught.retry_possible) == ("IMAGE_DOWNLOAD_ERROR", True)


async def test_an_owned_session_is_created_and_closed(ollama: FakeOllama) -> None:
    gen = generator(None, ollama.base_url)
    try:
        assert (await gen.caption(post(ollama.add_image("a.png")))).text == "A red pixel."
    finally:
        await gen.close()
    assert gen.seconds_per_post_estimate == 10.0
