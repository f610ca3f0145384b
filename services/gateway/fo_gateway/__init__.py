"""Gateway: stateless REST and WebSocket fan-out of the snapshots the workers publish."""
