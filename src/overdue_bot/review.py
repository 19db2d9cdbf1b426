"""A review queue of what real users asked that the bot was unsure about, private by design.

Opt-in (``serve --review DIR|redis://…``).  A turn goes in when the bot answered out of scope,
asked which of two topics was meant, ranked two intents almost equal, or was corrected right after
an answer.  What is kept is the message with personal data redacted (redact.py), why it was
unsure, what the bot chose and its top three, the channel and the minute: never the session id,
so no item leads back to a conversation.  At most MAX_ITEMS items, none older than MAX_AGE_DAYS.

``overdue-bot review`` walks the queue in the terminal; an accepted item becomes an example in
the intents file of the intent chosen (see kbedit), and the knowledge base is checked afterwards.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from .errors import MissingExtraError, StoreError
from .redact import MARK, redact

log = logging.getLogger("overdue_bot.review")

#: the store key (Redis) or file name (folder) of the queue, and of the items already reviewed
QUEUE_KEY = "overdue_bot:review"
DONE_KEY = "overdue_bot:review:done"
QUEUE_FILE = "queue.jsonl"
DONE_FILE = "reviewed.txt"
#: a message longer than this is cut in the queue (a pasted contract is no example)
MAX_TEXT = 300
#: the queue is bounded: at most this many items (the oldest go first) and none older than this;
#: one client sending unsure turns all day fills it, and then it stays this size
MAX_ITEMS = 20_000
MAX_AGE_DAYS = 90


@dataclass(frozen=True, slots=True)
class Item:
    """One turn to review; ``id`` is the same for the same text, so a question asked a hundred
    times is reviewed once (``count`` says how often it came)."""

    text: str
    reason: str
    intent: str | None
    top3: tuple[tuple[str, float], ...]
    channel: str
    at: str

    @property
    def id(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:16]

    def to_json(self) -> str:
        data = asdict(self)
        data["top3"] = [list(t) for t in self.top3]
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Item:
        d = json.loads(line)
        return cls(
            str(d["text"]),
            str(d["reason"]),
            d.get("intent"),
            tuple((str(i), float(s)) for i, s in d.get("top3") or ()),
            str(d.get("channel") or ""),
            str(d.get("at") or ""),
        )


def item_of(observed: Any) -> Item | None:
    """The queue item for an observed turn (bot.Observed), or None when the bot was sure."""
    if not observed.unsure:
        return None
    text = redact(observed.text).strip()[:MAX_TEXT]
    if not text:
        return None
    sid = observed.session_id
    channel = sid.split(":", 1)[0] if ":" in sid else "api"
    ranking = tuple((i, round(float(s), 3)) for i, s in observed.reply.parse.ranking[:3])
    return Item(
        text,
        observed.unsure,
        observed.reply.intent,
        ranking,
        channel,
        time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
    )


class Queue(Protocol):
    def record(self, item: Item) -> None: ...
    def pending(self) -> list[tuple[Item, int]]: ...
    def done(self, item_id: str) -> None: ...


class FolderQueue:
    """JSON lines appended to DIR/queue.jsonl; safe across worker processes (one O_APPEND write
    per item), readable with any text tool."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the review folder {self.folder}: {exc.strerror}") from None
        self._mutex = threading.Lock()
        #: lines this process appended since it last pruned: short items never fill the byte
        #: cap, so the count prunes too (every MAX_ITEMS // 2 lines: at most MAX_ITEMS per worker);
        #: None until the first record, which prunes what earlier processes left (a restart)
        self._appended: int | None = None

    def record(self, item: Item) -> None:
        line = (item.to_json() + "\n").encode("utf-8")
        path = self.folder / QUEUE_FILE
        with self._mutex:
            try:
                full = path.stat().st_size > MAX_ITEMS * (MAX_TEXT * 3 + 400)  # bytes an item may take
            except FileNotFoundError:
                full = False
            if full or self._appended is None or self._appended >= MAX_ITEMS // 2:
                self.prune()
                self._appended = 0
            self._appended += 1
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)

    def prune(self) -> int:
        """Rewrite the queue without reviewed or expired items, the newest MAX_ITEMS // 2 at most;
        how many lines went.  (A line another worker appends meanwhile may be lost: it is a
        review queue, not a record.)"""
        path = self.folder / QUEUE_FILE
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return 0
        done = self._done()
        keep = [line for line in lines if _fresh(line, done)][-(MAX_ITEMS // 2) :]
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # workers prune at once: one file each
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in keep))
        os.replace(tmp, path)
        return len(lines) - len(keep)

    def _done(self) -> set[str]:
        try:
            return set((self.folder / DONE_FILE).read_text(encoding="utf-8").split())
        except FileNotFoundError:
            return set()

    def pending(self) -> list[tuple[Item, int]]:
        try:
            lines = (self.folder / QUEUE_FILE).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return _grouped(lines, self._done())

    def done(self, item_id: str) -> None:
        with open(self.folder / DONE_FILE, "a", encoding="utf-8") as f:
            f.write(item_id + "\n")


class RedisQueue:
    """A Redis list, for many workers on many machines."""

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError:
            raise MissingExtraError("a Redis review queue", "redis") from None
        self.client = redis.Redis.from_url(url, socket_timeout=2)

    def record(self, item: Item) -> None:
        pipe = self.client.pipeline()
        pipe.rpush(QUEUE_KEY, item.to_json())
        pipe.ltrim(QUEUE_KEY, -MAX_ITEMS, -1)
        pipe.expire(QUEUE_KEY, MAX_AGE_DAYS * 86400)
        pipe.execute()

    def pending(self) -> list[tuple[Item, int]]:
        lines = [_str(b) for b in self.client.lrange(QUEUE_KEY, 0, -1)]
        done = {_str(b) for b in self.client.smembers(DONE_KEY)}
        return _grouped(lines, done)

    def done(self, item_id: str) -> None:
        self.client.sadd(DONE_KEY, item_id)


def _str(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _expired(at: str, now: float | None = None) -> bool:
    try:
        when = time.mktime(time.strptime(at, "%Y-%m-%dT%H:%MZ")) - time.timezone
    except ValueError:
        return False  # an item of an older format: kept
    return (time.time() if now is None else now) - when > MAX_AGE_DAYS * 86400


def _fresh(line: str, done: set[str]) -> bool:
    try:
        item = Item.from_json(line)
    except (ValueError, KeyError, TypeError):
        return False
    return item.id not in done and not _expired(item.at)


def _grouped(lines: list[str], done: set[str]) -> list[tuple[Item, int]]:
    """Unreviewed items younger than MAX_AGE_DAYS, one per text, most asked first (then oldest first)."""
    seen: dict[str, tuple[Item, int]] = {}
    for line in lines:
        try:
            item = Item.from_json(line)
        except (ValueError, KeyError, TypeError):
            continue  # a line cut by a crash is skipped, not fatal
        if item.id in done or _expired(item.at):
            continue
        first, n = seen.get(item.id, (item, 0))
        seen[item.id] = (first, n + 1)
    return sorted(seen.values(), key=lambda x: -x[1])


def open_queue(spec: str) -> Queue:
    """A folder path, or redis://host:port/db."""
    if spec.startswith(("redis://", "rediss://", "unix://")):
        return RedisQueue(spec)
    return FolderQueue(spec)


class Recorder:
    """The observer ``serve --review`` attaches to the bot: unsure turns into the queue.

    A queue that fails (a full disk, Redis down) is logged once a minute and costs no answer.
    """

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self.recorded = 0
        self.failed = 0

    def __call__(self, observed: Any) -> None:
        item = item_of(observed)
        if item is None:
            return
        try:
            self.queue.record(item)
            self.recorded += 1
        except Exception as exc:  # noqa: BLE001 - any queue failure is logged, never raised
            self.failed += 1
            log.warning("could not record a turn for review: %s", exc)


def session(
    queue: Queue, kb_path: str | None, *, ask: Any = input, say: Any = print
) -> list[tuple[str, str]]:
    """Walk the queue with a person: each item labelled with an intent (top three offered), edited,
    skipped, or left for later.  Returns the (intent, text) examples added to the knowledge base."""
    from .bot import Bot
    from .errors import KnowledgeError
    from .kb.edit import add_example
    from .kb.project import editable

    editable(kb_path)  # an installed package's copy is refused before anyone labels anything
    items = queue.pending()
    if not items:
        say("the review queue is empty")
        return []
    bot = Bot(kb_path)
    names = {it.name for it in bot.knowledge.intents}
    added: list[tuple[str, str]] = []
    say(
        f"{len(items)} messages to review. For each: 1-3 takes that intent, or type an intent's name; "
        "o = out_of_scope, e = edit the text first, s = skip (not asked again), q = stop for now."
    )
    for n, (item, count) in enumerate(items, 1):
        text = item.text
        while True:
            top3 = [i for i, _ in bot.parse(text).ranking[:3]]  # ranked by today's knowledge base
            times = f" ×{count}" if count > 1 else ""
            say(f"\n[{n}/{len(items)}] {item.reason}{times} · {item.channel} · the bot chose {item.intent}")
            say(f"  “{text}”" + ("  (redacted parts are left out of the example)" if MARK in text else ""))
            say("  " + "   ".join(f"{k}) {i}" for k, i in enumerate(top3, 1)))
            try:
                answer = ask("> ").strip()
            except EOFError:
                answer = "q"
            if answer == "q":
                return added
            if answer == "s":
                queue.done(item.id)
                break
            if answer == "e":
                try:
                    text = ask("  new text: ").strip() or text
                except EOFError:
                    return added
                continue
            intent = {"1": 0, "2": 1, "3": 2}.get(answer)
            label = (
                top3[intent]
                if intent is not None and intent < len(top3)
                else ("out_of_scope" if answer == "o" else answer)
            )
            if label not in names:
                say(f"  no intent {label!r}; pick 1-3, o, e, s, q or an intent's name")
                continue
            example = _unmarked(text)
            if not example:
                say("  nothing is left once the redacted parts go; e to write the example")
                continue
            try:
                path = add_example(kb_path, label, example)
            except KnowledgeError as exc:
                say(f"  not added: {exc}")
                continue
            queue.done(item.id)
            if path is None:
                say(f"  {label} already has this example")
            else:
                added.append((label, example))
                say(f"  added to {label} in {path.name}")
            break
    return added


def _unmarked(text: str) -> str:
    """An example without the clauses that held personal data (我叫…, 手机…): what is left asks."""
    clauses = re.split(r"(?<=[，,、；;。.！!？?])", text)
    return "".join(c for c in clauses if MARK not in c).strip(" ，,、；;。.")
