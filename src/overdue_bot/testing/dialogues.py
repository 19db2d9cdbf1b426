"""Scripted dialogue tests: YAML conversations replayed against a Bot.

A file is a list of ``{dialogue: name, turns: [{user, intent?, slots?, says?, not_says?, state?,
point?}, ...]}``; ``point`` names the point(s) of the topic the reply must say.
Run them with ``overdue-bot test PATH...``, as pytest items (the plugin collects
``test_*.yaml`` under tests/), or from Python with ``run_file`` / ``run_paths``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..bot import Bot
from ..errors import KnowledgeError
from .evaluate import slot_ok

_TURN_KEYS = {"user", "intent", "slots", "says", "state", "not_says", "point"}


@dataclass(frozen=True, slots=True)
class Dialogue:
    name: str
    turns: tuple[dict[str, Any], ...]
    source: str


@dataclass(frozen=True, slots=True)
class TurnFailure:
    index: int
    user: str
    problems: tuple[str, ...]
    ranking: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class Result:
    dialogue: Dialogue
    failures: tuple[TurnFailure, ...] = field(default_factory=tuple)
    #: what the bot said, turn by turn: (text, intent, variant)
    replies: tuple[tuple[str, str | None, str], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures

    def describe(self) -> str:
        """A per-turn diff of expected against actual."""
        lines = [f"{self.dialogue.source}: {self.dialogue.name}"]
        for f in self.failures:
            lines.append(f"  turn {f.index + 1}: {f.user}")
            lines += [f"    {p}" for p in f.problems]
            top = ", ".join(f"{i} {s:.2f}" for i, s in f.ranking[:3])
            lines.append(f"    top-3: {top}")
        return "\n".join(lines)


def load_file(path: str | Path) -> list[Dialogue]:
    """Read and check one dialogue file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise KnowledgeError(str(path), f"cannot read the dialogue file: {exc}") from exc
    if not isinstance(data, list):
        raise KnowledgeError(str(path), "a dialogue file must be a YAML list of dialogues")
    out = []
    for i, d in enumerate(data):
        if not isinstance(d, dict) or not isinstance(d.get("turns"), list) or not d["turns"]:
            raise KnowledgeError(str(path), f"dialogue {i + 1} needs a non-empty 'turns' list")
        name = str(d.get("dialogue") or f"dialogue {i + 1}")
        for j, t in enumerate(d["turns"]):
            if not isinstance(t, dict) or "user" not in t:
                raise KnowledgeError(str(path), f"turn {j + 1} needs 'user'", intent=name)
            unknown = set(t) - _TURN_KEYS
            if unknown:
                raise KnowledgeError(
                    str(path), f"turn {j + 1}: unknown key {sorted(unknown)[0]!r}", intent=name
                )
        out.append(Dialogue(name, tuple(d["turns"]), str(path)))
    return out


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def run(dialogue: Dialogue, bot: Bot) -> Result:
    """Replay one dialogue in a fresh session and compare every turn."""
    sid = f"test-{uuid.uuid4().hex}"
    failures = []
    replies = []
    try:
        for i, turn in enumerate(dialogue.turns):
            user = "" if turn["user"] is None else str(turn["user"])
            r = bot.reply(user, session_id=sid)
            replies.append((r.text, r.intent, r.variant))
            problems = []
            if "intent" in turn and r.intent != turn["intent"]:
                problems.append(f"intent: expected {turn['intent']}, got {r.intent}")
            if "state" in turn and r.state != turn["state"]:
                problems.append(f"state: expected {turn['state']}, got {r.state}")
            for name, want in (turn.get("slots") or {}).items():
                if not slot_ok(want, r.slots.get(name)):
                    problems.append(f"slot {name}: expected {want!r}, got {r.slots.get(name)!r}")
            for text in _as_list(turn.get("says")):
                if text not in r.text:
                    problems.append(f"says: {text!r} not in reply: {r.text[:80]!r}…")
            for text in _as_list(turn.get("not_says")):
                if text in r.text:
                    problems.append(f"not_says: {text!r} is in the reply")
            said = [label.split("/", 1)[-1] for label in r.points]
            for name in _as_list(turn.get("point")):
                if name not in said:
                    problems.append(f"point: expected {name}, got {'+'.join(said) or 'none'}")
            if problems:
                ranking = tuple(r.parse.ranking) if r.parse else ()
                failures.append(TurnFailure(i, user, tuple(problems), ranking))
    finally:
        bot.reset(sid)
    return Result(dialogue, tuple(failures), tuple(replies))


#: variants that answer a topic already answered in the conversation
_FOLLOW_UP_VARIANTS = {"again", "beyond", "next", "noted"}
_NOT_ANSWERS = {"ask", "clarify", "support", "debts"}


@dataclass(frozen=True, slots=True)
class Figures:
    """How a set of conversations reads: repetition and answer lengths (characters)."""

    conversations: int
    turns: int
    characters: int
    repeated: int  # characters in lines of 20+ characters the bot had already said in that conversation
    first_answers: tuple[int, ...]
    follow_ups: tuple[int, ...]
    #: characters inside any stretch of SPAN characters the bot had already said in that conversation
    spanned: int = 0

    @property
    def repetition(self) -> float:
        return self.repeated / self.characters if self.characters else 0.0

    @property
    def span_repetition(self) -> float:
        """The share of reply characters that repeat a stretch already said (quotes, recycled lines)."""
        return self.spanned / self.characters if self.characters else 0.0

    @staticmethod
    def _pct(values: Sequence[int], q: float) -> int:
        if not values:
            return 0
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def describe(self) -> str:
        f, u = self.first_answers, self.follow_ups
        return (
            f"{self.conversations} conversations, {self.turns} bot turns, {self.characters} characters\n"
            f"repetition: {self.repetition:.1%} of reply characters sit in lines of 20+ characters "
            f"already said in that conversation\n"
            f"span repetition: {self.span_repetition:.1%} of reply characters sit inside a stretch of "
            f"{SPAN} characters already said in that conversation\n"
            f"first answers ({len(f)}): median {self._pct(f, 0.5)}, p90 {self._pct(f, 0.9)} characters\n"
            f"follow-ups ({len(u)}): median {self._pct(u, 0.5)}, p90 {self._pct(u, 0.9)} characters"
        )


#: the length of a stretch that counts as said again (a recycled clause, not a shared phrase)
SPAN = 20


def spanned(text: str, seen: set[str], span: int = SPAN) -> int:
    """How many characters of ``text`` lie inside a stretch of ``span`` characters in ``seen``."""
    covered = [False] * len(text)
    for i in range(len(text) - span + 1):
        if text[i : i + span] in seen:
            covered[i : i + span] = [True] * span
    return sum(covered)


def stretches(text: str, span: int = SPAN) -> set[str]:
    return {text[i : i + span] for i in range(len(text) - span + 1)}


def figures(results: Sequence[Result], chat: frozenset[str] = frozenset()) -> Figures:
    """Repetition and answer lengths over replayed conversations (``chat``: the small-talk intents,
    bot.yaml's roles.chat, whose replies are no answers).

    A first answer is the first reply on a topic in a conversation; a follow-up is a later reply on
    a topic already answered (the same question again, 然后呢, 花呗呢 …).
    """
    total = repeated = turns = spans = 0
    first: list[int] = []
    follow: list[int] = []
    for result in results:
        said: set[str] = set()
        seen: set[str] = set()
        answered: set[str] = set()
        for text, intent, variant in result.replies:
            turns += 1
            total += len(text)
            spans += spanned(text, seen)
            seen |= stretches(text)
            for line in text.split("\n"):
                key = line.strip()
                if len(key) >= 20 and key in said:
                    repeated += len(line)
                said.add(key)
            if variant in _NOT_ANSWERS or intent is None or intent in chat:
                continue
            if variant in _FOLLOW_UP_VARIANTS or intent in answered:
                follow.append(len(text))
            else:
                first.append(len(text))
            answered.add(str(intent))
    return Figures(len(results), turns, total, repeated, tuple(first), tuple(follow), spans)


def collect(paths: Iterable[str | Path]) -> list[Path]:
    """Dialogue files named by paths: files as given, folders searched for *.yaml / *.yml."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml"))
        else:
            files.append(p)
    return files


def run_paths(paths: Sequence[str | Path], bot: Bot | None = None) -> list[Result]:
    """Run every dialogue of every file under paths."""
    bot = bot or Bot()
    return [run(d, bot) for f in collect(paths) for d in load_file(f)]


def run_file(path: str | Path, bot: Bot | None = None) -> list[Result]:
    return run_paths([path], bot)
