"""Run benchmarks: python -m bench.run ledger [--lines N] | inventory [--products N --moves N]
| sales [--invoices N] | payments [--open-invoices N] (needs BENCH_DATABASE_URL)."""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("suite", choices=["ledger", "inventory", "sales", "payments"])
    parser.add_argument("--lines", type=int, default=1_000_000, help="ledger: journal lines")
    parser.add_argument("--products", type=int, default=50_000, help="inventory: products")
    parser.add_argument("--moves", type=int, default=1_000_000, help="inventory: stock moves")
    parser.add_argument("--invoices", type=int, default=100_000, help="sales: posted invoices")
    parser.add_argument("--open-invoices", type=int, default=100_000,
                        help="payments: open invoices (half as many paid ones, one customer per 20)")
    parser.add_argument("--reuse", action="store_true", help="measure the data already generated")
    args = parser.parse_args(argv)
    from bench.common import SPEED_AT_START, machine_speed
    SPEED_AT_START.append(machine_speed())
    print(f"machine: {SPEED_AT_START[0]}", flush=True)
    if args.suite == "ledger":
        from bench import ledger
        ledger.run(args.lines, fresh=not args.reuse)
    elif args.suite == "inventory":
        from bench import inventory
        inventory.run(args.products, args.moves, fresh=not args.reuse)
    elif args.suite == "sales":
        from bench import sales
        sales.run(args.invoices, fresh=not args.reuse)
    elif args.suite == "payments":
        from bench import payments
        payments.run(args.open_invoices, fresh=not args.reuse)
    return 0


if __name__ == "__main__":
    sys.exit(main())
