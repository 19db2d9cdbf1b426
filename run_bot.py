#!/usr/bin/env python3
"""Chat with overdue-bot in the terminal: ``python run_bot.py [--debug] [--store URL]``."""

import sys

try:
    from overdue_bot.repl import main
except ImportError:  # not installed: run from the source checkout
    import pathlib

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "src"))
    try:
        from overdue_bot.repl import main
    except ImportError as exc:
        sys.exit(f"overdue-bot cannot start ({exc}). Install it first: pip install -e .  (or run: make chat)")

if __name__ == "__main__":
    sys.exit(main())
