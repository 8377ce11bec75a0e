"""The composition root's parts: settings, containers by concern, the served app and its lifecycle."""
