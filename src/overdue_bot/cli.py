"""``overdue-bot init | chat | check | test | eval | serve | review …`` (also ``python -m overdue_bot``).

Every command that reads the knowledge base takes ``--intents DIR`` and, without it,
``$OVERDUE_BOT_INTENTS``: an author who ran ``init`` sets it once instead of on every line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from . import repl
from .errors import OverdueBotError


def _init(args: argparse.Namespace) -> int:
    """Copy the shipped knowledge base out to edit, and say what to run next."""
    from .kb.project import ENV, init

    written = init(args.folder, force=args.force)
    folder = args.folder
    shipped = sum(1 for p in written if p.suffix == ".yaml" and p.parent.name != "dialogues")
    print(f"wrote {shipped} knowledge-base files, README.md and dialogues/test_example.yaml into {folder}")
    print("next: edit an intent (README.md says how), then")
    print(f"  overdue-bot check --intents {folder}")
    print(f"  overdue-bot test --intents {folder} {folder}/dialogues")
    print(f"  overdue-bot serve --intents {folder}      (or: export {ENV}={folder})")
    return 0


def _bot(intents: str | None) -> Any:
    """A Bot over ``intents``, saying on stderr when its index must be built first: seconds that
    would otherwise pass without a word (stdout stays the report)."""
    from .bot import Bot
    from .kb import loader
    from .model import needs_build

    kb = loader.load(intents)
    if needs_build(kb):
        print("building the index of this knowledge base (once after each edit, seconds) …", file=sys.stderr)
    return Bot(kb)


def _eval(args: argparse.Namespace) -> int:
    from .testing.evaluate import evaluate, format_report, load_cases

    bot = _bot(args.intents)
    report = evaluate(load_cases(args.file), bot.parse)
    print(format_report(report, misses=not args.no_misses))
    return 0


def _check(args: argparse.Namespace) -> int:
    """The knowledge-base lint: exit 1 when it finds an error (for CI), 0 with only warnings."""
    import json

    from ._progress import Progress
    from .kb.lint import LintConfig, check

    progress = Progress("check")
    try:
        report = check(args.intents, LintConfig(folds=args.folds), progress=progress)
    finally:
        progress.done()
    if args.format == "json":
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(report.describe(limit=None if args.all else 3))
    return 1 if report.errors else 0


def _review(args: argparse.Namespace) -> int:
    """Walk the review queue; with examples added, check the knowledge base and run the dialogue tests."""
    from pathlib import Path

    from ._progress import Progress
    from .bot import Bot
    from .kb.lint import LintConfig, check
    from .review import open_queue, session
    from .testing.dialogues import run_paths

    added = session(open_queue(args.queue), args.intents)
    if not added:
        return 0
    print(f"\n{len(added)} examples added. Checking the knowledge base …")
    progress = Progress("review")
    try:
        report = check(args.intents, LintConfig(folds=args.folds), progress=progress)
    finally:
        progress.done()
    for line in report.grouped(limit=3):
        print(line)
    # the same counts as `overdue-bot check` gives for the same checks; which ran is said, as
    # review skips the slow left-out test by default
    print(report.ran())
    print(f"check: {report.summary()}")
    paths = args.dialogues or [p for p in ("tests/dialogues",) if Path(p).is_dir()]
    failed = []
    if paths:
        results = run_paths(paths, Bot(args.intents))
        failed = [r for r in results if not r.ok]
        for r in failed:
            print(r.describe(), end="\n\n")
        print(f"dialogue tests: {len(results) - len(failed)} passed, {len(failed)} failed")
    print("reload a running server with: kill -HUP <pid> (or POST /v1/admin/reload)")
    return 1 if report.errors or failed else 0


def _test(args: argparse.Namespace) -> int:
    from .testing.dialogues import figures, run_paths

    bot = _bot(args.intents)
    results = run_paths(args.paths, bot)
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(r.describe(), end="\n\n")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if args.figures:
        print(figures(results, bot.knowledge.texts.roles["chat"]).describe())
    return 1 if failed or not results else 0


def _dingtalk_stream(args: argparse.Namespace) -> int:
    """The DingTalk robot in Stream mode: runs until interrupted."""
    import logging
    import os

    from .bot import Bot
    from .channels import dingtalk_stream
    from .stores import open_store

    client_id = args.client_id or os.environ.get("DINGTALK_CLIENT_ID", "")
    client_secret = args.client_secret or os.environ.get("DINGTALK_CLIENT_SECRET", "")
    if not client_id or not client_secret:
        print(
            "error: set --client-id and --client-secret (or DINGTALK_CLIENT_ID, DINGTALK_CLIENT_SECRET): "
            "the robot's AppKey and AppSecret",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    bot = Bot(args.intents or None, store=open_store(args.store))
    bot.parse("你好")  # load the dictionary before the first person writes
    dingtalk_stream.client(bot, client_id, client_secret).start_forever()
    return 0


def _serve(args: argparse.Namespace) -> int:
    import os

    try:
        import uvicorn  # noqa: F401

        from .channels import http  # noqa: F401  (checks starlette is there)
    except ImportError:
        print(
            "error: overdue-bot serve needs the optional extra 'server': pip install 'overdue-bot[server]'",
            file=sys.stderr,
        )
        return 2
    from .stores import open_store

    if args.host not in ("127.0.0.1", "localhost", "::1") and not (
        args.api_token or os.environ.get("API_TOKEN") or os.environ.get("OVERDUE_BOT_API_TOKEN")
    ):
        print(
            f"error: serve --host {args.host} listens beyond this machine: set --api-token TOKEN "
            "(or OVERDUE_BOT_API_TOKEN) so that only your callers reach /v1/chat and the sessions' debts",
            file=sys.stderr,
        )
        return 2
    if args.workers is None:
        shared = (args.store or "").startswith(("redis", "sqlite", "rediss", "unix"))
        args.workers = min(4, os.cpu_count() or 1) if shared else 1
    open_store(args.store)  # fail now, with a clear message, if the store cannot be opened
    if args.workers > 1 and not (args.store or "").startswith(("redis", "sqlite")):
        print(
            "warning: with several workers and the memory store, each worker keeps its own sessions; "
            "use --store sqlite:///sessions.db or --store redis://…",
            file=sys.stderr,
        )
    os.environ["OVERDUE_BOT_STORE"] = args.store or ""
    os.environ["OVERDUE_BOT_INTENTS"] = args.intents or ""
    os.environ["OVERDUE_BOT_WECHAT_TOKEN"] = args.wechat_token or os.environ.get("WECHAT_TOKEN", "")
    os.environ["OVERDUE_BOT_WECHAT_WINDOW"] = str(args.wechat_window)
    for name in (
        "wechat_aes_key",
        "wechat_aes_key_previous",
        "wechat_appid",
        "wecom_token",
        "wecom_aes_key",
        "wecom_corpid",
        "dingtalk_app_secret",
        "feishu_verification_token",
        "feishu_encrypt_key",
        "feishu_app_id",
        "feishu_app_secret",
        "feishu_domain",
        "handoff_webhook",
        "handoff_token",
        "review",
        "admin_token",
        "api_token",
    ):
        key = name.upper()
        os.environ[f"OVERDUE_BOT_{key}"] = (
            getattr(args, name) or os.environ.get(f"OVERDUE_BOT_{key}") or os.environ.get(key, "")
        )
    os.environ["OVERDUE_BOT_LOG_MESSAGES"] = "1" if args.log_messages else ""
    os.environ["OVERDUE_BOT_DEBUG"] = "1" if args.debug else ""
    for name in ("rate_session", "burst_session", "rate_client", "burst_client"):
        os.environ[f"OVERDUE_BOT_{name.upper()}"] = str(getattr(args, name))
    os.environ["OVERDUE_BOT_RATE_NEW_SESSIONS"] = str(args.new_sessions)
    os.environ["OVERDUE_BOT_BURST_NEW_SESSIONS"] = str(max(1, args.new_sessions // 2))
    os.environ["OVERDUE_BOT_CLIENT_CONNECTIONS"] = str(args.client_connections)
    if not os.environ.get("OVERDUE_BOT_SESSION_SECRET") and not (args.store or "").startswith(
        ("redis", "rediss", "unix", "sqlite")
    ):
        # one key for all this server's workers, so a page's session id is good on each of them;
        # a shared store keeps its own key instead (Service), so a restart keeps the page sessions
        import secrets

        os.environ["OVERDUE_BOT_SESSION_SECRET"] = secrets.token_hex(32)
    if args.review:
        from .review import open_queue

        open_queue(args.review)  # a folder that cannot be made, or Redis missing, fails now
    os.environ["OVERDUE_BOT_HEADER_TIMEOUT"] = str(args.header_timeout)  # read by every worker
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return _run_server(args)  # the operator's folder: theirs to keep or clear
    # every worker writes its counters here and /metrics adds them up; fresh for each start, and
    # removed when the server stops (one folder per start would otherwise pile up in /tmp)
    import shutil
    import signal
    import tempfile

    made = tempfile.mkdtemp(prefix="overdue-bot-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    # uvicorn re-raises the SIGTERM it handled once it has shut down; by default that ends the
    # process on the spot, before the folder is removed, so here it ends it as an exception
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        return _run_server(args)
    finally:
        shutil.rmtree(made, ignore_errors=True)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR") == made:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


def _exit_on_signal(signum: int, frame: Any) -> None:
    """A signal handler ending the process as an exception, so that ``finally`` blocks run; the
    exit status is the shell's for a process ended by that signal (143 for SIGTERM)."""
    raise SystemExit(128 + signum)


def _run_server(args: argparse.Namespace) -> int:
    """uvicorn (one worker) or the Supervisor (several), with the environment ``_serve`` set."""
    import logging
    import logging.config
    import os

    import uvicorn

    from .channels import logs
    from .channels.protocol import protocol

    try:
        http_protocol = protocol(args.http)
    except ImportError as exc:  # MissingExtraError: its message names the extra to install
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.loop == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            print("error: --loop uvloop needs uvloop: pip install uvloop", file=sys.stderr)
            return 2
    log_config = logs.config(fmt=args.log_format)
    logging.config.dictConfig(log_config)
    config = uvicorn.Config(
        "overdue_bot.channels.http:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=log_config,
        access_log=False,
        http=http_protocol,
        loop=args.loop,
        timeout_keep_alive=args.keep_alive,
        limit_concurrency=args.limit_concurrency,
        backlog=args.backlog,
        timeout_graceful_shutdown=10,
        # a client's address from X-Forwarded-For only when the proxy is named (uvicorn would
        # otherwise trust any header from 127.0.0.1, and --rate-client with it)
        proxy_headers=bool(args.forwarded_allow_ips),
        forwarded_allow_ips=args.forwarded_allow_ips or None,
    )
    if args.workers > 1:
        from .channels.supervisor import Supervisor

        os.environ["OVERDUE_BOT_SUPERVISOR"] = str(os.getpid())
        Supervisor(config).run()
        return 0
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1  # a port in use, an app that would not start: uvicorn logged why


def _forget(args: argparse.Namespace) -> int:
    from .bot import session_key
    from .stores import forget, open_store

    key = session_key(args.session)
    if forget(open_store(args.store), key):
        print(f"forgot {key}")
        return 0
    print(f"no session {key} in this store", file=sys.stderr)
    return 1


def _bounded(low: int, high: int) -> Any:
    """An argparse type: an integer in [low, high], or a clear usage error."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{number} is not between {low} and {high}")
        return number

    parse.__name__ = "number"
    return parse


def main(argv: Sequence[str] | None = None) -> int:
    from ._version import __version__
    from .kb.project import add_intents_option, intents_path

    ap = argparse.ArgumentParser(prog="overdue-bot", description="A Chinese assistant for overdue debts.")
    ap.add_argument("--version", action="version", version=f"overdue-bot {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    ini = sub.add_parser("init", help="copy the shipped knowledge base into a folder, to edit")
    ini.add_argument("folder", help="where to write it (new or empty)")
    ini.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    chat = sub.add_parser("chat", help="chat in the terminal")
    repl.add_arguments(chat)
    test = sub.add_parser("test", help="run scripted dialogue files")
    test.add_argument("paths", nargs="+", help="dialogue files or folders")
    add_intents_option(test)
    test.add_argument(
        "--figures",
        action="store_true",
        help="also print the repetition share and the answer lengths of these conversations",
    )
    chk = sub.add_parser("check", help="lint the knowledge base (exit 1 on errors)")
    add_intents_option(chk)
    chk.add_argument("--format", choices=("text", "json"), default="text")
    chk.add_argument(
        "--folds",
        type=_bounded(0, 100),
        default=5,
        help="rounds of the left-out check (0 skips it; default 5)",
    )
    chk.add_argument("--all", action="store_true", help="list every finding, not the first 3 of each kind")
    rv = sub.add_parser("review", help="label what users asked that the bot was unsure about")
    rv.add_argument("queue", help="the folder or redis:// URL given to serve --review")
    add_intents_option(rv, "the knowledge-base folder to add examples to")
    rv.add_argument(
        "--dialogues",
        nargs="*",
        default=None,
        help="dialogue files or folders to run afterwards (default: tests/dialogues, if there)",
    )
    rv.add_argument(
        "--folds",
        type=_bounded(0, 100),
        default=0,
        help="rounds of check's left-out test afterwards (default 0: skipped, it takes a while)",
    )
    ev = sub.add_parser("eval", help="evaluate intent and slot accuracy on a labelled file")
    ev.add_argument("file")
    add_intents_option(ev)
    ev.add_argument("--no-misses", action="store_true", help="do not list every miss")
    serve = sub.add_parser("serve", help="the HTTP server (extra 'server')")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_bounded(1, 65535), default=8000)
    serve.add_argument(
        "--workers",
        type=_bounded(1, 64),
        default=None,
        help="worker processes (default: one per core, at most 4, with a shared store; 1 with the memory store)",
    )
    serve.add_argument(
        "--store", default=None, help="memory: (default), sqlite:///path.db or redis://host:port/0"
    )
    add_intents_option(serve)
    serve.add_argument("--wechat-token", default=None, help="enables /wechat (or set WECHAT_TOKEN)")
    serve.add_argument(
        "--log-messages",
        action="store_true",
        help="log message text (phone and ID numbers redacted); off by default",
    )
    serve.add_argument(
        "--wechat-aes-key", default=None, help="safe mode: the EncodingAESKey (or WECHAT_AES_KEY)"
    )
    serve.add_argument(
        "--wechat-aes-key-previous",
        default=None,
        help="the previous EncodingAESKey, still accepted during a key change",
    )
    serve.add_argument("--wechat-appid", default=None, help="safe mode: the AppID messages must be for")
    serve.add_argument("--wecom-token", default=None, help="enables /wecom (or WECOM_TOKEN)")
    serve.add_argument("--wecom-aes-key", default=None, help="the WeCom app's EncodingAESKey")
    serve.add_argument("--wecom-corpid", default=None, help="the CorpID WeCom messages must be for")
    serve.add_argument(
        "--dingtalk-app-secret",
        default=None,
        help="enables /dingtalk: the robot's AppSecret (or DINGTALK_APP_SECRET)",
    )
    serve.add_argument(
        "--feishu-verification-token",
        default=None,
        help="enables /feishu with --feishu-app-id and --feishu-app-secret (or FEISHU_…)",
    )
    serve.add_argument(
        "--feishu-encrypt-key", default=None, help="the Feishu app's Encrypt Key (recommended)"
    )
    serve.add_argument("--feishu-app-id", default=None, help="the Feishu app's App ID, for the reply API")
    serve.add_argument("--feishu-app-secret", default=None, help="the Feishu app's App Secret")
    serve.add_argument(
        "--feishu-domain",
        default=None,
        help="the open API's base URL (default https://open.feishu.cn; Lark: https://open.larksuite.com)",
    )
    serve.add_argument(
        "--handoff-webhook",
        default=None,
        help="URL told (POST JSON) when a session is handed to a person (bot.yaml handoff)",
    )
    serve.add_argument(
        "--handoff-token",
        default=None,
        help="enables POST /v1/handoff/{start,release} with 'Authorization: Bearer TOKEN'",
    )
    serve.add_argument(
        "--wechat-window",
        type=_bounded(1, 86400),
        default=300,
        help="seconds a signed WeChat request stays valid (default 300)",
    )
    serve.add_argument(
        "--header-timeout",
        type=_bounded(1, 600),
        default=10,
        help="seconds a connection has to send a request's headers (default 10)",
    )
    serve.add_argument(
        "--keep-alive",
        type=_bounded(1, 600),
        default=5,
        help="seconds an idle keep-alive connection stays open (default 5)",
    )
    serve.add_argument(
        "--limit-concurrency",
        type=_bounded(1, 1_000_000),
        default=1000,
        help="connections and requests at once before new ones get 503 (default 1000)",
    )
    serve.add_argument(
        "--backlog",
        type=_bounded(1, 65535),
        default=2048,
        help="connections waiting to be accepted (default 2048)",
    )
    serve.add_argument(
        "--http",
        choices=("auto", "h11", "httptools"),
        default="auto",
        help="HTTP parser: httptools (C, extra 'fast') when installed, else h11 (default auto)",
    )
    serve.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        # measured (benchmarks/wrk.py): with turns run in the loop, uvloop served fewer requests
        # (466 vs 506/s) and let some connections wait (p99 373 vs 135 ms), so it is opt-in
        help="event loop: asyncio (default) or uvloop (pip install uvloop; slower tail here)",
    )
    serve.add_argument(
        "--review",
        default=None,
        help="record turns the bot was unsure about, redacted, in this folder or redis:// URL",
    )
    serve.add_argument(
        "--api-token",
        default=None,
        help="/v1/chat and the Rasa webhook then need 'Authorization: Bearer TOKEN' and answer with "
        "the session's slots (or OVERDUE_BOT_API_TOKEN); required to listen beyond 127.0.0.1",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default="",
        metavar="IPS",
        help="the reverse proxies (comma-separated addresses, or '*') whose X-Forwarded-For gives the "
        "client's address; by default none is trusted",
    )
    serve.add_argument(
        "--debug",
        action="store_true",
        help="answer /v1/chat with the session's slots without a token (development only)",
    )
    serve.add_argument(
        "--admin-token",
        default=None,
        help="enables POST /v1/admin/reload with 'Authorization: Bearer TOKEN' (or ADMIN_TOKEN)",
    )
    serve.add_argument(
        "--rate-session",
        type=_bounded(0, 1_000_000),
        default=30,
        help="messages per minute one session may send (0: no limit; default 30)",
    )
    serve.add_argument(
        "--burst-session",
        type=_bounded(1, 1_000_000),
        default=20,
        help="messages one session may send at once before the rate applies (default 20)",
    )
    serve.add_argument(
        "--rate-client",
        type=_bounded(0, 10_000_000),
        default=0,
        help="requests per minute one client address may send (default 0: off; behind a proxy "
        "every user shares its address)",
    )
    serve.add_argument(
        "--burst-client",
        type=_bounded(1, 10_000_000),
        default=60,
        help="requests one client address may send at once (default 60)",
    )
    serve.add_argument(
        "--new-sessions",
        type=_bounded(0, 10_000_000),
        default=60,
        help="web-page sessions one client address may start per minute (0: no limit; default 60; "
        "this machine's own address is not limited)",
    )
    serve.add_argument(
        "--client-connections",
        type=_bounded(0, 1_000_000),
        default=256,
        help="connections one client address may hold open in each worker (0: no limit; default "
        "256; behind a proxy, every connection is the proxy's)",
    )
    serve.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as text (default) or one JSON object per line",
    )
    fg = sub.add_parser("forget", help="delete one person's session from a store")
    fg.add_argument(
        "session",
        help="the id as the store keeps it: web:<id> for /v1/chat and the page, wechat:user:<openid> …",
    )
    fg.add_argument(
        "--store", default=None, help="memory: (default), sqlite:///path.db or redis://host:port/0"
    )
    stream = sub.add_parser("dingtalk-stream", help="the DingTalk robot in Stream mode (extra 'dingtalk')")
    stream.add_argument("--client-id", default=None, help="the robot's AppKey (or DINGTALK_CLIENT_ID)")
    stream.add_argument(
        "--client-secret", default=None, help="the robot's AppSecret (or DINGTALK_CLIENT_SECRET)"
    )
    stream.add_argument(
        "--store", default=None, help="memory: (default), sqlite:///path.db or redis://host:port/0"
    )
    add_intents_option(stream)
    args = ap.parse_args(argv)
    if getattr(args, "intents", "") is None:
        args.intents = intents_path(None)
    handler = {
        "init": _init,
        "chat": repl.chat,
        "check": _check,
        "review": _review,
        "test": _test,
        "eval": _eval,
        "serve": _serve,
        "dingtalk-stream": _dingtalk_stream,
        "forget": _forget,
    }[args.command]
    try:
        return handler(args)
    except OverdueBotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # overdue-bot eval … | head: the reader has all it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
