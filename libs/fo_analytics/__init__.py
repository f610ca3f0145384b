"""The maths: chain state and per-expiry analytics (pure; ``now`` is a parameter)."""


def warm_up() -> None:
    """Compile the numerical kernels before the first tick (placeholder until the IV engine)."""
