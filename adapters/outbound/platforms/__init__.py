"""Real platform clients: Pixelfed and Mastodon through the Mastodon-compatible client API."""
