"""Machine-readable API documents generated from the code that serves the API: OpenAPI and AsyncAPI."""
