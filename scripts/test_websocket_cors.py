#!/usr/bin/env python3
"""Test CORS configuration: vedfolnir-realtime test cors (same arguments; see --help)."""

from _cli import run

if __name__ == "__main__":
    run(["test", "cors"], __file__)
