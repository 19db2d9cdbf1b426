"""Which point each question form of a topic reaches, asked the way people ask it.

A point is reachable when at least one of its forms, asked right after the topic's first answer
(a follow-up, in a conversation whose case fits the point: 支付令 for the 支付令 points), gets that
point as the answer.  Its standalone ``examples`` should also be understood as its topic when
asked first.  ``overdue-bot check`` reports the points no form reaches; run this module to see
every form (``python -m overdue_bot.testing.points [--intents DIR] [TOPIC ...]``).
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..bot import Bot
from ..records import Intent, Point


@dataclass(frozen=True, slots=True)
class Route:
    """One question form of a point and where the bot took it."""

    intent: str
    point: str
    form: str
    follow_up: bool  # a form read only while the topic is in focus (else a standalone example)
    opener: str  # what was asked first, to put the topic in focus
    got_intent: str | None
    got_points: tuple[str, ...]
    #: for a standalone example: the intent it parses as when asked first, with no conversation
    first_intent: str | None = None

    @property
    def reached(self) -> bool:
        return self.got_intent == self.intent and f"{self.intent}/{self.point}" in self.got_points


def opener(it: Intent, p: Point, bot: Bot | None = None) -> str:
    """A first question on the topic whose case fits the point: one naming its cue, if it has one,
    or one stating the facts it needs (``when: {has: [monthly_budget, amount]}``)."""
    needs = set(p.when.get("has", ()))
    if needs and bot is not None:
        found = next((ex for ex in it.examples if needs <= set(bot.parse(ex).slots)), None)
        if found:
            return found
    cues = [c for w in (p.when, *(v.when for v in p.variants)) for c in w.get("cue", ())]
    for cue in cues:
        words = it.cues.get(cue, ())
        found = next((ex for ex in it.examples if any(w in ex for w in words)), None)
        if found:
            return found
    return it.examples[0]


def routes(bot: Bot, topics: Sequence[str] | None = None) -> Iterator[Route]:
    """Every form of every point of the topics (all with points, by default), asked after an opener."""
    for it in bot.knowledge.intents:
        if topics and it.name not in topics:
            continue
        for p in it.points:
            first = opener(it, p, bot)
            for follow_up, forms in ((False, p.examples), (True, p.follow_ups)):
                for form in forms:
                    sid = f"route-{uuid.uuid4().hex}"
                    try:
                        bot.reply(first, session_id=sid)
                        r = bot.reply(form, session_id=sid)
                    finally:
                        bot.reset(sid)
                    yield Route(
                        intent=it.name,
                        point=p.name,
                        form=form,
                        follow_up=follow_up,
                        opener=first,
                        got_intent=r.intent,
                        got_points=r.points,
                        first_intent=None if follow_up else bot.parse(form).intent,
                    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m overdue_bot.testing.points", description=__doc__)
    ap.add_argument("topics", nargs="*", help="topics to show (default: every topic with points)")
    ap.add_argument("--intents", help="the knowledge-base folder (default: the shipped one)")
    ap.add_argument("--misses", action="store_true", help="show only the forms that miss their point")
    args = ap.parse_args(argv)
    bot = Bot.from_path(args.intents) if args.intents else Bot()
    by_point: dict[tuple[str, str], list[Route]] = {}
    for r in routes(bot, args.topics):
        by_point.setdefault((r.intent, r.point), []).append(r)
    unreached = 0
    for (intent, point), found in by_point.items():
        hits = sum(r.reached for r in found)
        unreached += hits == 0
        print(f"{intent}/{point}: {hits}/{len(found)} forms reach it (after “{found[0].opener}”)")
        for r in found:
            if args.misses and r.reached:
                continue
            mark = "ok " if r.reached else "MISS"
            got = "+".join(x.split("/", 1)[1] for x in r.got_points) or "-"
            alone = "" if r.follow_up else f"  | asked first: {r.first_intent}"
            kind = "follow-up" if r.follow_up else "example"
            print(f"   {mark} {kind:9} {r.form} → {r.got_intent} [{got}]{alone}")
    print(f"\n{len(by_point)} points, {unreached} reached by none of their forms")
    return 1 if unreached else 0


if __name__ == "__main__":
    raise SystemExit(main())
