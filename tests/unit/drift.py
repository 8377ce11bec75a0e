"""Fingerprints of the python-socketio/python-engineio methods our adapters override or copy, and the check on them.

`python -m tests.unit.drift` prints the current table, to paste into test_upstream_drift.py after reviewing a change.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Callable, Iterable, Mapping
from typing import Any

UPSTREAM_PACKAGES = ("socketio", "engineio")
OURS = ("adapters", "composition", "entrypoints")  # every package of ours that may subclass upstream classes


def normalised(source: str) -> str:
    """The source as the interpreter sees it: no comments, no docstrings, one formatting."""
    tree = ast.parse(textwrap.dedent(source))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = node.body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def fingerprint(source: str) -> str:
    return hashlib.sha256(normalised(source).encode()).hexdigest()[:16]


def _function(member: Any) -> Callable[..., Any] | None:
    if isinstance(member, staticmethod | classmethod):
        return member.__func__  # type: ignore[no-any-return]
    if isinstance(member, property):
        return member.fget
    return member if inspect.isfunction(member) else None


def _is_upstream(cls: type) -> bool:
    return cls.__module__.split(".")[0] in UPSTREAM_PACKAGES


def _our_modules() -> Iterable[Any]:
    for name in OURS:
        try:
            package = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        yield package
        for info in pkgutil.walk_packages(package.__path__, name + "."):
            if ".migrations" in info.name:
                continue  # Alembic's env.py runs on import
            yield importlib.import_module(info.name)


def discover_overrides() -> dict[str, str]:
    """Every upstream method one of our classes redefines: upstream dotted name -> our dotted name."""
    found: dict[str, str] = {}
    for module in _our_modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            upstream_bases = [base for base in cls.__mro__[1:] if _is_upstream(base)]
            for name, member in vars(cls).items():
                if _function(member) is None:
                    continue
                owner = next((base for base in upstream_bases if name in vars(base)), None)
                if owner is not None and _function(vars(owner)[name]) is not None:
                    found[f"{owner.__module__}.{owner.__qualname__}.{name}"] = f"{cls.__module__}.{cls.__qualname__}"
    return found


def resolve(dotted: str) -> Callable[..., Any]:
    """The upstream function named `package.module.Class.method` (or `package.module.function`)."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:]:
            obj = vars(obj)[attr] if isinstance(obj, type) else getattr(obj, attr)
        function = _function(obj)
        if function is None:
            raise TypeError(f"{dotted} is not a function")
        return function
    raise ImportError(dotted)


def current_sources(names: Iterable[str]) -> dict[str, str]:
    return {name: inspect.getsource(resolve(name)) for name in names}


def drifted(recorded: Mapping[str, str], sources: Mapping[str, str]) -> list[str]:
    """The names whose source no longer matches the recorded fingerprint (or is missing)."""
    return sorted(
        name for name, digest in recorded.items() if name not in sources or fingerprint(sources[name]) != digest
    )


if __name__ == "__main__":
    from tests.unit.test_upstream_drift import RELIED_ON

    names = sorted({*discover_overrides(), *RELIED_ON})
    for name, source in current_sources(names).items():
        print(f'    "{name}": "{fingerprint(source)}",')
