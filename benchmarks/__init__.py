"""Benchmarks run by `make bench` (`python -m benchmarks`); results land in benchmarks/results/."""
