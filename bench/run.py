"""Run benchmarks: python -m bench.run ledger [--lines N] (needs BENCH_DATABASE_URL)."""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("suite", choices=["ledger"])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="measure the data already generated")
    args = parser.parse_args(argv)
    if args.suite == "ledger":
        from bench import ledger
        ledger.run(args.lines, fresh=not args.reuse)
    return 0


if __name__ == "__main__":
    sys.exit(main())
