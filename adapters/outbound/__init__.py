"""Outbound adapters: SQL, Redis, HTTP clients, and in-memory twins of every port."""
