"""Adapters: inbound (socket, HTTP, CLI) drive the use cases; outbound implement their ports."""
