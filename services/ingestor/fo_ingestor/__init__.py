"""Ingestor: owns the feed (simulator, replay or broker) and appends ticks to Redis Streams."""
