"""The maths: chain state and per-expiry analytics (pure; ``now`` is a parameter)."""
