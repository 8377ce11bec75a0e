"""Use cases of the real-time service and the ports they need; imports only domain."""
