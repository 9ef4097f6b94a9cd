"""Benchmarks and the data generator they use. Run: `make bench BENCH_ARGS="ledger"`."""
