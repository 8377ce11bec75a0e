#!/usr/bin/env python3
"""Monitor WebSocket events: vedfolnir-realtime monitor (same arguments; see --help)."""

from _cli import run

if __name__ == "__main__":
    run(["monitor"], __file__)
