"""Analytics engine tests."""
