"""``overdue-bot chat | test | eval | serve`` (also ``python -m overdue_bot``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import repl
from .errors import OverdueBotError


def _eval(args: argparse.Namespace) -> int:
    from .bot import Bot
    from .evaluate import evaluate, format_report, load_cases

    bot = Bot(args.intents)
    report = evaluate(load_cases(args.file), bot.parse)
    print(format_report(report, misses=not args.no_misses))
    return 0


def _test(args: argparse.Namespace) -> int:
    from .bot import Bot
    from .testing import run_paths

    results = run_paths(args.paths, Bot(args.intents))
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(r.describe(), end="\n\n")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed or not results else 0


def _serve(args: argparse.Namespace) -> int:
    print("error: the HTTP server is not part of this version yet (see the issue on embedding)",
          file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="overdue-bot", description="A Chinese assistant for overdue debts.")
    sub = ap.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat", help="chat in the terminal")
    repl.add_arguments(chat)
    test = sub.add_parser("test", help="run scripted dialogue files")
    test.add_argument("paths", nargs="+", help="dialogue files or folders")
    test.add_argument("--intents", default=None)
    ev = sub.add_parser("eval", help="evaluate intent and slot accuracy on a labelled file")
    ev.add_argument("file")
    ev.add_argument("--intents", default=None)
    ev.add_argument("--no-misses", action="store_true", help="do not list every miss")
    serve = sub.add_parser("serve", help="the HTTP server (not available yet)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    args = ap.parse_args(argv)
    handler = {"chat": repl.chat, "test": _test, "eval": _eval, "serve": _serve}[args.command]
    try:
        return handler(args)
    except OverdueBotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
