"""Every metric family the service registers is listed in the README's metrics table."""

from __future__ import annotations

import re
from pathlib import Path

from adapters.observability.metrics import Metrics

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_registered_family_is_in_the_readme_table() -> None:
    metrics = Metrics("node-a")
    metrics.watch(connections=list, security_counts=dict, listeners=lambda: {"fanout": True}, running_jobs=lambda: 0)
    families = {family.name for family in metrics.registry.collect() if family.name.startswith("vedfolnir_")}
    documented = set(re.findall(r"`(vedfolnir_[a-z_]+?)(?:_total)?`", README.read_text()))
    assert families, "no families collected"
    assert families <= documented, sorted(families - documented)
