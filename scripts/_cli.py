"""Runs one `vedfolnir-realtime` CLI command from a checkout: the reference's script names are thin wrappers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def run(command: list[str], script: str) -> None:
    """`vedfolnir-realtime <command> <this script's arguments>`; re-runs under the checkout's .venv if needed."""
    sys.path.insert(0, str(ROOT))
    try:
        from entrypoints.cli import main
    except ImportError:
        if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parents[1].resolve():
            os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), script, *sys.argv[1:]])
        sys.exit("vedfolnir-realtime is not installed: run `make install` in the checkout first")
    sys.exit(main([*command, *sys.argv[1:]]))
