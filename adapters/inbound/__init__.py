"""Inbound adapters: Socket.IO on aiohttp, the HTTP API and the CLI."""
