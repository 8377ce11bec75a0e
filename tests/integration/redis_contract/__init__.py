"""Contract tests run against both the in-memory twins and the Redis adapters."""
