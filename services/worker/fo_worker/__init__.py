"""Worker: consumes tick streams, keeps chain state per owned symbol, publishes snapshots."""
