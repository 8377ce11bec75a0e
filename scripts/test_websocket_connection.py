#!/usr/bin/env python3
"""Test WebSocket connectivity: vedfolnir-realtime test connection (same arguments; see --help)."""

from _cli import run

if __name__ == "__main__":
    run(["test", "connection"], __file__)
