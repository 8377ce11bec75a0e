"""The Flask test pages hold the API reference's JavaScript examples byte for byte, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "websocket-api-reference.md"
EXAMPLES = ROOT / "tests" / "integration" / "flask_pages" / "reference"


def _blocks() -> list[str]:
    return re.findall(r"```javascript\n(.*?)```", REFERENCE.read_text(encoding="utf-8"), re.S)


def test_every_javascript_example_of_the_reference_is_on_a_page() -> None:
    pages = {path.name: path.read_text(encoding="utf-8") for path in EXAMPLES.glob("*.js")}
    blocks = _blocks()
    assert len(blocks) == 9  # if the reference gains an example, a page must hold it too
    for block in blocks:
        assert any(block in text for text in pages.values()), block[:80]


def test_the_pages_add_nothing_to_the_examples() -> None:
    blocks = _blocks()
    for path in EXAMPLES.glob("*.js"):
        rest = path.read_text(encoding="utf-8")
        for block in blocks:
            rest = rest.replace(block, "")
        assert rest == "", f"{path.name} holds more than the reference's examples: {rest[:120]!r}"
