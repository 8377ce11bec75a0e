"""Operability adapters shared by inbound and outbound sides: Prometheus metrics and the log format."""
