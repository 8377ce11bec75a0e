"""Reads a node's /metrics into {(sample name, labels without node_id): value} for before/after comparisons."""

from __future__ import annotations

from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(url: str) -> tuple[Samples, set[str]]:
    """The samples and the node_id values seen."""
    async with aiohttp.ClientSession() as http, http.get(url) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = await answer.text()
    samples: Samples = {}
    nodes: set[str] = set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = dict(sample.labels)
            node = labels.pop("node_id", None)
            if node is not None:
                nodes.add(node)
            samples[(sample.name, frozenset(labels.items()))] = sample.value
    return samples, nodes


def value(samples: Samples, name: str, **labels: Any) -> float:
    return samples.get((name, frozenset((k, str(v)) for k, v in labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: Any) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def moved(before: Samples, after: Samples, prefix: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample under `prefix` whose value changed, with its change."""
    keys = {k for k in (*before, *after) if k[0].startswith(prefix)}
    changes = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in keys}
    return {k: v for k, v in changes.items() if v}
