"""The shared shell kit: settings loading, logging, Redis, lifecycle, heartbeats, backoff."""
