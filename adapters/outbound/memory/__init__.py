"""In-memory twins of every port, for fast tests and embedding."""
