"""Redis adapters: shared rate limits, leased connection slots, cross-node signals and the Socket.IO manager."""
