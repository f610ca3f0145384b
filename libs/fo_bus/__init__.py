"""The wire contract between services: every Redis name and every byte format."""
