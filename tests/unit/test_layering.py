"""The hexagon's rules: domain imports only the standard library, application only domain."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMPURE_STDLIB = {"asyncio", "socket", "subprocess", "threading", "multiprocessing", "sqlite3", "urllib", "http"}


def imports(package: str) -> list[tuple[str, str]]:
    found = []
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), alias.name.split(".")[0]) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(ROOT)), node.module.split(".")[0]))
    return found


def test_domain_imports_only_pure_standard_library_and_itself() -> None:
    bad = [
        (f, m)
        for f, m in imports("domain")
        if m != "domain" and (m not in sys.stdlib_module_names or m in IMPURE_STDLIB)
    ]
    assert bad == []


def test_application_imports_only_domain_and_the_standard_library() -> None:
    bad = [
        (f, m)
        for f, m in imports("application")
        if m not in ("domain", "application") and m not in sys.stdlib_module_names
    ]
    assert bad == []


def test_no_adapter_imports_the_root_its_containers_or_the_entry_points() -> None:
    root = {"bootstrap", "composition", "entrypoints"}
    users = {(f, m) for pkg in ("domain", "application", "adapters") for f, m in imports(pkg) if m in root}
    assert users == set()
