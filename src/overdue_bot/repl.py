"""The terminal chat: ``python run_bot.py`` or ``overdue-bot chat``.

On a terminal it uses readline (editing of wide characters, ↑ for earlier lines) and colours; with
stdin piped it reads one message per line and prints one reply block per line, so it can be
scripted.  Ctrl-C clears the line, Ctrl-D (or /quit, or quit, exit, 退出 typed as they are) ends
the chat.  What is typed is kept in a
history file only when asked for (``--history FILE`` or ``OVERDUE_BOT_HISTORY``), and then at
most HISTORY_LINES lines: people type their debts here.  Nothing the bot prints can move the
cursor or recolour the terminal: control and escape sequences are taken out of every reply.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .records import Reply

if TYPE_CHECKING:
    from .bot import Bot

#: lines kept in the history file, when there is one
HISTORY_LINES = 200
#: terminal control: escape sequences (CSI, OSC …) and other control characters but newline and tab
_CONTROL = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def printable(text: str) -> str:
    """Text safe to write to a terminal: no escape sequences, no control characters."""
    return _CONTROL.sub("", text)


HELP = """命令：
  /help   显示帮助
  /reset  清空本次对话记住的信息，重新开始
  /plan   按目前聊到的情况，写出你的计划（欠款、期限、先找谁、怎么说、申请书）
  /debug  打开或关闭调试信息（意图、置信度、前三名、槽位、状态、答案变体）
  /quit   退出（也可以输入 退出、quit、exit，或按 Ctrl-D）"""

#: words that end the chat typed without the slash: a newcomer types them first, and as questions
#: they would only get the bot's out-of-scope answer
QUIT_WORDS = frozenset({"quit", "exit", "退出"})


def quits(line: str) -> bool:
    """Whether ``line`` asks to end the chat: /quit, /exit, /q, or a quit word alone.

    The word may come with spaces, punctuation or full-width letters around it (退出。, ｅｘｉｔ,
    “quit!”), since people type it in whatever input mode they are in; a sentence holding the
    word (怎么退出借款) is still a question.
    """
    command = line.strip().lower()
    if command in ("/quit", "/exit", "/q"):
        return True
    bare = unicodedata.normalize("NFKC", line).lower()
    edge = [unicodedata.category(c)[0] not in "PZSC" for c in bare]
    if True not in edge:
        return False
    return bare[edge.index(True) : len(edge) - edge[::-1].index(True)] in QUIT_WORDS


def _colour(on: bool) -> tuple[str, str, str, str]:
    if not on:
        return "", "", "", ""
    return "\033[36m", "\033[2m", "\033[1m", "\033[0m"


def debug_line(r: Reply) -> str:
    """One reply's inner workings, for /debug and --debug."""
    p = r.parse
    top = ", ".join(f"{i} {s:.2f}" for i, s in (p.ranking[:3] if p else []))
    why = {
        "ask": "缺少必需的槽位，先追问",
        "clarify": "前两名意图分数太接近，请用户选择",
        "default": "通用答案（没有更具体的条件成立）",
    }.get(r.variant, f"条件成立：{r.variant}")
    parsed = f"parse={p.intent} ({p.confidence:.2f}) " if p else ""
    return (
        f"[debug] intent={r.intent} confidence={r.confidence:.2f} {parsed}top3=[{top}] "
        f"slots={r.slots} state={r.state} variant={r.variant} ({why})"
    )


def _utf8(stream: TextIO) -> None:
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(encoding="utf-8", errors="replace")
        except (ValueError, OSError):
            pass


def run(
    bot: Bot,
    *,
    debug: bool = False,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    interactive: bool | None = None,
    history: Path | None = None,
) -> int:
    """Run the loop until /quit, Ctrl-D or end of input; returns the exit status."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    if interactive is None:
        interactive = stdin.isatty() and stdout.isatty()
    cyan, dim, bold, reset = _colour(interactive and stdout.isatty() and "NO_COLOR" not in os.environ)
    session = f"repl-{os.getpid()}"
    if history is None and os.environ.get("OVERDUE_BOT_HISTORY"):
        history = Path(os.environ["OVERDUE_BOT_HISTORY"])
    if interactive:
        try:
            import readline

            readline.set_history_length(HISTORY_LINES)
            if history is not None:
                try:
                    readline.read_history_file(history)
                except OSError:
                    pass
        except ImportError:
            pass
        print(f"{bold}逾期问答助手{reset}  输入 /help 查看命令，退出 或 /quit 结束", file=stdout)
        print(f"{cyan}{bot.greeting}{reset}\n", file=stdout)

    def read() -> str | None:
        if interactive:
            # \001..\002 tell readline the colour codes take no width, so editing stays aligned
            prompt = f"\001{bold}\002你：\001{reset}\002" if bold else "你："
            return input(prompt)
        line = stdin.readline()
        return None if line == "" else line.rstrip("\n")

    try:
        while True:
            try:
                line = read()
            except EOFError:
                line = None
                if interactive:
                    print("", file=stdout)  # end the prompt's line: Ctrl-D leaves no "你：" behind
            except KeyboardInterrupt:
                if not interactive:
                    break
                print("^C（已清空这一行，输入 退出 或按 Ctrl-D 结束）", file=stdout)
                continue
            if line is None:
                break
            if not line.strip():
                continue  # an empty line asks nothing
            command = line.strip().lower()
            if quits(line):
                break
            if command == "/help":
                print(HELP, file=stdout)
                continue
            if command == "/reset":
                bot.reset(session)
                print("（已重新开始，之前说过的信息都已清空）", file=stdout)
                continue
            if command == "/plan":
                # the plan as it stands, read from the session (it changes nothing in it)
                print(f"{cyan}{printable(bot.plan(session).text)}{reset}\n", file=stdout)
                stdout.flush()
                continue
            if command == "/debug":
                debug = not debug
                print(f"（调试信息已{'打开' if debug else '关闭'}）", file=stdout)
                continue
            r = bot.reply(line, session_id=session)
            if debug:
                print(f"{dim}{printable(debug_line(r))}{reset}", file=stdout)
            prefix = "助手：" if interactive else ""
            print(f"{cyan}{prefix}{printable(r.text)}{reset}\n", file=stdout)
            stdout.flush()
    except KeyboardInterrupt:
        print("", file=stdout)
    finally:
        if interactive and history is not None:
            try:
                import readline

                readline.write_history_file(history)
                os.chmod(history, 0o600)
            except (ImportError, OSError):
                pass
    if interactive:
        print("再见！", file=stdout)
    return 0


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--debug", action="store_true", help="show intent, confidence, top-3, slots and state")
    ap.add_argument(
        "--store", default=None, help="memory: (default), sqlite:///path.db or redis://host:port/0"
    )
    from .kb.project import add_intents_option

    add_intents_option(ap)
    ap.add_argument(
        "--history",
        type=Path,
        default=None,
        help=f"keep the last {HISTORY_LINES} typed lines in this file (off by default; "
        "or set OVERDUE_BOT_HISTORY)",
    )


def chat(args: argparse.Namespace) -> int:
    from .bot import Bot
    from .kb import loader as knowledge
    from .model import needs_build
    from .stores import open_store

    _utf8(sys.stdout)
    _utf8(sys.stdin)
    from .kb.project import intents_path

    kb = knowledge.load(intents_path(args.intents))
    if needs_build(kb):
        # the first start of a knowledge base builds its index (seconds): say so, not a blank screen
        print("正在加载…", flush=True)
    bot = Bot(kb, store=open_store(args.store))
    return run(bot, debug=args.debug, history=args.history)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of run_bot.py."""
    from .errors import OverdueBotError

    ap = argparse.ArgumentParser(prog="run_bot.py", description="Chat with overdue-bot in the terminal.")
    add_arguments(ap)
    args = ap.parse_args(argv)
    try:
        return chat(args)
    except OverdueBotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
