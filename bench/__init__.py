"""Benchmarks: one module per subject, each run by `make bench` and writing bench/results/."""
