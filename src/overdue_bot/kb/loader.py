"""Read the knowledge base (a folder of YAML files) once, check it, and freeze it.

Every malformed file raises KnowledgeError naming the file, the intent and the field, so a
knowledge-base author never has to read a traceback.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import yaml

from ..errors import KnowledgeError
from ..records import (
    CONTEXTS,
    NUMBER_ROLES,
    PLAN_CUES,
    PLAN_FRAMES,
    PLAN_HEADINGS,
    PLAN_PAPERS,
    PLAN_PIECES,
    PLAN_QUESTIONS,
    PLAN_VALUES,
    Answer,
    Intent,
    Kind,
    Knowledge,
    PlanPiece,
    PlanTexts,
    Platform,
    Point,
    Reported,
    Texts,
)
from . import handoff

# libyaml's safe loader when PyYAML was built with it (several times faster), else the Python one
_BASE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE_LOADER):  # type: ignore[misc]
    """The safe loader, refusing a key written twice in one mapping (YAML would keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the key {key!r} is written twice (also at line {seen[key] + 1})",
                    key_node.start_mark,
                )
            if isinstance(key, (str, int, float, bool)):
                seen[key] = key_node.start_mark.line
        return dict(super().construct_mapping(node, deep=deep))


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_mapping)
_LOADER = _Loader

SLOT_NAMES = ("days_overdue", "platform", "amount", "monthly_budget")
#: what ``has``/``missing`` may test: the slots, and the day of a deadline's window said in the message
_CONDITION_VALUES = (*SLOT_NAMES, "elapsed")
_CONDITION_KEYS = {"days", "amount", "platform", "platform_kind", "has", "missing", "cue", "debts"}


def default_path() -> Path:
    """The intents/ folder shipped with the package (or beside the source checkout)."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "intents", package.parents[1] / "intents"):
        if candidate.is_dir():
            return candidate
    raise KnowledgeError(str(package / "intents"), "the knowledge base folder was not found")


def _read(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except OSError as exc:
        raise KnowledgeError(str(path), f"cannot read the file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise KnowledgeError(str(path), "the file is not UTF-8 text") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise KnowledgeError(str(path), f"invalid YAML{where}: {problem}") from exc


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e]")


def _type_name(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _str_list(value: Any, file: str, intent: str | None, fld: str, *, min_len: int = 0) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or len(value) < min_len:
        need = f"a list of at least {min_len} strings" if min_len else "a list of strings"
        raise KnowledgeError(
            file, f"must be {need} (got {_type_name(value)}: {value!r:.60})", intent=intent, field=fld
        )
    out = []
    for i, item in enumerate(value):
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item.strip():
            raise KnowledgeError(
                file, f"item {i + 1} must be a non-empty string (got {item!r:.60})", intent=intent, field=fld
            )
        out.append(item.strip())
    return tuple(out)


def _condition(when: Any, file: str, intent: str, fld: str) -> dict[str, Any]:
    if when is None:
        return {}
    if not isinstance(when, dict):
        raise KnowledgeError(
            file, f"must be a mapping of conditions (got {_type_name(when)})", intent=intent, field=fld
        )
    unknown = set(when) - _CONDITION_KEYS
    if unknown:
        raise KnowledgeError(
            file,
            f"unknown condition {sorted(unknown)[0]!r}; known: {', '.join(sorted(_CONDITION_KEYS))}",
            intent=intent,
            field=fld,
        )
    out: dict[str, Any] = {}
    for key, value in when.items():
        if key in ("days", "amount", "debts"):
            if (
                not isinstance(value, list)
                or len(value) != 2
                or not all(v is None or isinstance(v, int) for v in value)
            ):
                raise KnowledgeError(
                    file,
                    f"{key} must be [min, max] with integers or null (got {value!r})",
                    intent=intent,
                    field=fld,
                )
            if value[0] is not None and value[1] is not None and value[0] > value[1]:
                raise KnowledgeError(
                    file, f"{key} range {value!r} is reversed: write [min, max]", intent=intent, field=fld
                )
            out[key] = (value[0], value[1])
        elif key in ("has", "missing"):
            names = _str_list(value, file, intent, f"{fld}.{key}")
            bad = [n for n in names if n not in _CONDITION_VALUES]
            if bad:
                raise KnowledgeError(
                    file,
                    f"unknown slot {bad[0]!r}; known: {', '.join(_CONDITION_VALUES)}",
                    intent=intent,
                    field=f"{fld}.{key}",
                )
            out[key] = names
        else:
            out[key] = _str_list(value, file, intent, f"{fld}.{key}")
    return out


def _answers(
    raw: Any, file: str, intent: str, *, fallback: bool = True, where: str = "answers"
) -> tuple[Answer, ...]:
    """Answer variants (at ``where``); with ``fallback`` the last one must be unconditional."""
    if isinstance(raw, str):
        raw = [{"text": raw}]
    if not isinstance(raw, list) or not raw:
        raise KnowledgeError(
            file,
            f"must be a non-empty list of answers (got {_type_name(raw)})",
            intent=intent,
            field=where,
        )
    out = []
    for i, item in enumerate(raw):
        fld = f"{where}[{i}]"
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict):
            raise KnowledgeError(
                file, f"must be a mapping with 'text' (got {_type_name(item)})", intent=intent, field=fld
            )
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            raise KnowledgeError(
                file,
                f"'text' must be a non-empty string (got {_type_name(text)})",
                intent=intent,
                field=f"{fld}.text",
            )
        control = _CONTROL_CHARS.search(text)
        if control:
            raise KnowledgeError(
                file,
                f"the text holds a control character U+{ord(control.group()):04X} (a "
                "terminal escape sequence?)",
                intent=intent,
                field=f"{fld}.text",
            )
        unknown = set(item) - {"text", "when", "name"}
        if unknown:
            raise KnowledgeError(file, f"unknown key {sorted(unknown)[0]!r}", intent=intent, field=fld)
        when = _condition(item.get("when"), file, intent, f"{fld}.when")
        name = str(item.get("name") or (f"variant{i + 1}" if when else "default"))
        out.append(Answer(text.strip(), when, name))
    if fallback and out[-1].when:
        raise KnowledgeError(
            file,
            "the last answer must have no 'when': it is the general answer given when no condition holds",
            intent=intent,
            field=f"{where}[{len(out) - 1}]",
        )
    return tuple(out)


_INTENT_KEYS = {"examples", "answers", "points", "needs", "ask", "legal", "label", "cues", "more", "beyond"}
_POINT_KEYS = {
    "name",
    "lead",
    "facts",
    "when",
    "unless",
    "text",
    "variants",
    "again",
    "examples",
    "follow_ups",
    "legal",
}
#: how a facts.md section is named: its number (13, or §13) or a named part (crisis, seed)
_FACTS = re.compile(r"^§?(\d{1,2}|[a-z][a-z_]*)$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


#: marks a cue list that names one of bot.yaml's dialogue lists (resolved once bot.yaml is read)
_SHARED = "\x00"


def _cue_words(value: Any, file: str, intent: str, fld: str) -> tuple[str, ...]:
    """A cue's words, or ``dialogue.NAME``: one list of bot.yaml shared by several intents' cues."""
    if isinstance(value, str):
        if not re.fullmatch(r"dialogue\.\w+", value):
            raise KnowledgeError(
                file, f"must be a list of words or dialogue.NAME (got {value!r})", intent=intent, field=fld
            )
        return (_SHARED + value.split(".", 1)[1],)
    return _str_list(value, file, intent, fld, min_len=1)


def _shared_cues(intents: list[Intent], texts: Texts, bot_file: str) -> list[Intent]:
    """Each cue that names a dialogue list of bot.yaml, given that list's words."""
    out = []
    for it in intents:
        cues = dict(it.cues)
        for cue, words in it.cues.items():
            if len(words) == 1 and words[0].startswith(_SHARED):
                shared = texts.dialogue.get(words[0][1:])
                if not shared:
                    raise KnowledgeError(
                        it.source,
                        f"names dialogue.{words[0][1:]}, which {bot_file} does not define",
                        intent=it.name,
                        field=f"cues.{cue}",
                    )
                cues[cue] = shared
        out.append(replace(it, cues=cues) if cues != it.cues else it)
    return out


def _facts(value: Any, file: str, intent: str, fld: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        m = _FACTS.match(str(item).strip()) if isinstance(item, (str, int)) else None
        if m is None:
            raise KnowledgeError(
                file,
                f"must name facts.md sections by number (13) or name (crisis); got {item!r}",
                intent=intent,
                field=fld,
            )
        out.append(m.group(1))
    return tuple(out)


def _points(raw: Any, file: str, intent: str) -> tuple[Point, ...]:
    """A topic's points: typed, every field checked, every error naming the point and its field."""
    if not isinstance(raw, list) or not raw:
        raise KnowledgeError(
            file, f"must be a non-empty list of points (got {_type_name(raw)})", intent=intent, field="points"
        )
    out: list[Point] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise KnowledgeError(
                file,
                f"a point is a mapping with name and text (got {_type_name(item)})",
                intent=intent,
                field=f"points[{i}]",
            )
        name = item.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise KnowledgeError(
                file,
                f"a point needs a lower_snake_case name (got {name!r})",
                intent=intent,
                field=f"points[{i}]",
            )
        where = f"points.{name}"
        if any(p.name == name for p in out):
            raise KnowledgeError(file, "a point of this name is written twice", intent=intent, field=where)
        unknown = set(item) - _POINT_KEYS
        if unknown:
            raise KnowledgeError(
                file,
                f"unknown key {sorted(unknown)[0]!r}; known: {', '.join(sorted(_POINT_KEYS))}",
                intent=intent,
                field=where,
            )
        if ("text" in item) == ("variants" in item):
            raise KnowledgeError(
                file, "a point has either 'text' or 'variants' (one of them)", intent=intent, field=where
            )
        if "text" in item:
            variants = _answers([{"text": item["text"], "name": name}], file, intent, where=f"{where}.text")
        else:
            variants = _answers(item["variants"], file, intent, fallback=False, where=f"{where}.variants")
            variants = tuple(
                replace(v, name=f"{name}.{v.name}")
                if v.name.startswith("variant") or v.name == "default"
                else v
                for v in variants
            )
        lead = item.get("lead", False)
        lead_when = _condition(lead, file, intent, f"{where}.lead") if isinstance(lead, dict) else {}
        if not isinstance(lead, (bool, dict)):
            raise KnowledgeError(
                file,
                f"must be true, false or a mapping of conditions (got {lead!r})",
                intent=intent,
                field=f"{where}.lead",
            )
        for flag in ("legal",):
            if not isinstance(item.get(flag, False), bool):
                raise KnowledgeError(
                    file,
                    f"must be true or false (got {item[flag]!r})",
                    intent=intent,
                    field=f"{where}.{flag}",
                )
        again = item.get("again") or ""
        if not isinstance(again, str):
            raise KnowledgeError(
                file, "must be one short line of text", intent=intent, field=f"{where}.again"
            )
        out.append(
            Point(
                name=name,
                variants=variants,
                facts=_facts(item.get("facts"), file, intent, f"{where}.facts"),
                examples=_str_list(item.get("examples") or [], file, intent, f"{where}.examples"),
                follow_ups=_str_list(item.get("follow_ups") or [], file, intent, f"{where}.follow_ups"),
                when=_condition(item.get("when"), file, intent, f"{where}.when"),
                unless=_condition(item.get("unless"), file, intent, f"{where}.unless"),
                lead=bool(lead),
                lead_when=lead_when,
                again=again.strip(),
                legal=item.get("legal"),
            )
        )
    if not any(
        p.lead and not p.lead_when and not p.when and not p.unless and not p.variants[-1].when for p in out
    ):
        raise KnowledgeError(
            file,
            "no lead point always applies: mark one point 'lead: true' with no 'when' and a last "
            "wording without one, so the topic's first answer is never empty",
            intent=intent,
            field="points",
        )
    return tuple(out)


def _legacy_points(body: dict[str, Any], file: str, name: str) -> tuple[Point, ...]:
    """``answers`` (and ``more``) as points: one lead point, ``answer``, whose wordings they are,
    and each ``more`` line a point of its own (an older knowledge base loads unchanged)."""
    answers = _answers(body.get("answers"), file, name)
    more = _str_list(body.get("more") or [], file, name, "more")
    return (
        Point(name="answer", variants=answers, lead=True),
        *(
            Point(name=f"more{i + 1}", variants=(Answer(text, {}, f"more{i + 1}"),))
            for i, text in enumerate(more)
        ),
    )


def _intents(data: Any, file: str) -> list[Intent]:
    if not isinstance(data, dict):
        raise KnowledgeError(
            file, f"'intents' must be a mapping of intent names (got {_type_name(data)})", field="intents"
        )
    out = []
    for name, body in data.items():
        name = str(name)
        if not _NAME.match(name):
            raise KnowledgeError(file, "an intent name must be lower_snake_case", intent=name)
        if not isinstance(body, dict):
            raise KnowledgeError(file, f"must be a mapping (got {_type_name(body)})", intent=name)
        unknown = set(body) - _INTENT_KEYS
        if unknown:
            raise KnowledgeError(
                file,
                f"unknown key; known: {', '.join(sorted(_INTENT_KEYS))}",
                intent=name,
                field=sorted(unknown)[0],
            )
        examples = _str_list(body.get("examples"), file, name, "examples", min_len=1)
        for i, ex in enumerate(examples):
            if not any(ch.isalnum() for ch in ex):
                raise KnowledgeError(
                    file,
                    f"example {i + 1} has no words ({ex!r}): it would match any message of punctuation",
                    intent=name,
                    field="examples",
                )
        needs = _str_list(body.get("needs") or [], file, name, "needs")
        bad = [n for n in needs if n not in SLOT_NAMES]
        if bad:
            raise KnowledgeError(
                file, f"unknown slot {bad[0]!r}; known: {', '.join(SLOT_NAMES)}", intent=name, field="needs"
            )
        ask = body.get("ask") or ""
        if needs and (not isinstance(ask, str) or not ask.strip()):
            raise KnowledgeError(
                file, "an intent that needs a slot must say how to ask for it", intent=name, field="ask"
            )
        legal = body.get("legal", False)
        if not isinstance(legal, bool):
            raise KnowledgeError(file, f"must be true or false (got {legal!r})", intent=name, field="legal")
        raw_cues = body.get("cues") or {}
        if not isinstance(raw_cues, dict):
            raise KnowledgeError(
                file, "must be a mapping of cue name → list of words", intent=name, field="cues"
            )
        cues = {str(k): _cue_words(v, file, name, f"cues.{k}") for k, v in raw_cues.items()}
        if "points" in body:
            if "answers" in body or "more" in body:
                raise KnowledgeError(
                    file,
                    "a topic with points has no 'answers' or 'more': write them as points",
                    intent=name,
                    field="answers" if "answers" in body else "more",
                )
            points = _points(body["points"], file, name)
        else:
            points = _legacy_points(body, file, name)
        for p in points:
            legacy = p.name == "answer" and "points" not in body
            places = [
                (f"points.{p.name}.when", p.when),
                (f"points.{p.name}.unless", p.unless),
                (f"points.{p.name}.lead", p.lead_when),
            ] + [
                (f"answers[{i}].when" if legacy else f"points.{p.name}.variants[{i}].when", v.when)
                for i, v in enumerate(p.variants)
            ]
            for fld, when in places:
                unknown_cues = [c for c in when.get("cue", ()) if c not in cues]
                if unknown_cues:
                    raise KnowledgeError(
                        file,
                        f"cue {unknown_cues[0]!r} is not defined in 'cues'",
                        intent=name,
                        field=f"{fld}.cue",
                    )
        beyond = body.get("beyond") or ""
        if not isinstance(beyond, str):
            raise KnowledgeError(file, "must be one line of text", intent=name, field="beyond")
        out.append(
            Intent(
                name=name,
                examples=examples,
                points=points,
                needs=needs,
                ask=str(ask).strip(),
                legal=legal,
                label=str(body.get("label") or name),
                source=file,
                cues=cues,
                beyond=beyond.strip(),
            )
        )
    return out


_KIND_KEYS = {"label", "note", "complaint"}
_PLATFORM_KEYS = {"name", "kind", "aliases", "prefixes", "loans", "note"}
#: the kinds a bank resolves to once the message says which of its products is meant
BANK_PRODUCTS = {"card": "credit_card", "loan": "bank_loan"}


def _platforms(
    data: Any, file: str
) -> tuple[tuple[Platform, ...], dict[str, Kind], dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    if not isinstance(data, dict):
        raise KnowledgeError(file, "must be a mapping with 'platforms'", field="platforms")
    unknown = set(data) - {"kinds", "platforms", "not_lender_after", "products"}
    if unknown:
        raise KnowledgeError(
            file, "unknown key; known: kinds, platforms, not_lender_after, products", field=sorted(unknown)[0]
        )
    raw_kinds = data.get("kinds")
    if not isinstance(raw_kinds, dict) or not raw_kinds:
        raise KnowledgeError(
            file, f"must be a mapping of kind names (got {_type_name(raw_kinds)})", field="kinds"
        )
    kinds: dict[str, Kind] = {}
    for name, body in raw_kinds.items():
        fld = f"kinds.{name}"
        if not isinstance(body, dict):
            raise KnowledgeError(file, f"must be a mapping with {', '.join(sorted(_KIND_KEYS))}", field=fld)
        if set(body) != _KIND_KEYS:
            odd = sorted(set(body) ^ _KIND_KEYS)[0]
            what = "unknown key" if odd in body else "missing key"
            raise KnowledgeError(
                file, f"{what} {odd!r}; a kind has exactly {', '.join(sorted(_KIND_KEYS))}", field=fld
            )
        for key in _KIND_KEYS:
            if not isinstance(body[key], str) or not body[key].strip():
                raise KnowledgeError(file, "must be a non-empty string", field=f"{fld}.{key}")
        kinds[str(name)] = Kind(
            str(name), body["label"].strip(), body["note"].strip(), body["complaint"].strip()
        )
    for required in ("bank", *BANK_PRODUCTS.values()):
        if required not in kinds:
            raise KnowledgeError(
                file, f"the kind {required!r} is required (banks resolve to it)", field="kinds"
            )
    plats = data.get("platforms")
    if not isinstance(plats, list) or not plats:
        raise KnowledgeError(file, f"must be a non-empty list (got {_type_name(plats)})", field="platforms")
    out = []
    for i, p in enumerate(plats):
        fld = f"platforms[{i}]"
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise KnowledgeError(file, "each platform needs a 'name'", field=fld)
        bad = set(p) - _PLATFORM_KEYS
        if bad:
            raise KnowledgeError(file, f"unknown key {sorted(bad)[0]!r} of {p['name']}", field=fld)
        kind = p.get("kind")
        if kind not in kinds:
            raise KnowledgeError(
                file, f"kind {kind!r} of {p['name']} is not one of {sorted(kinds)}", field=f"{fld}.kind"
            )
        loans = _str_list(p.get("loans") or [], file, None, f"{fld}.loans")
        if loans and kind != "bank":
            raise KnowledgeError(
                file, f"only a bank has loan products ({p['name']} is {kind!r})", field=f"{fld}.loans"
            )
        note = p.get("note") or ""
        if not isinstance(note, str):
            raise KnowledgeError(file, "must be a string", field=f"{fld}.note")
        out.append(
            Platform(
                p["name"],
                kind,
                _str_list(p.get("aliases") or [], file, None, f"{fld}.aliases"),
                _str_list(p.get("prefixes") or [], file, None, f"{fld}.prefixes"),
                loans,
                note.strip(),
            )
        )
    stop = {
        str(k): _str_list(v or [], file, None, f"not_lender_after.{k}")
        for k, v in (data.get("not_lender_after") or {}).items()
    }
    products = data.get("products") or {}
    if not isinstance(products, dict) or set(products) - set(BANK_PRODUCTS):
        raise KnowledgeError(file, f"must map {' and '.join(BANK_PRODUCTS)} to word lists", field="products")
    words = {str(k): _str_list(v, file, None, f"products.{k}") for k, v in products.items()}
    return tuple(out), kinds, stop, words


#: bot.yaml's required texts: every text field of Texts (derived, never retyped)
_TEXT_KEYS = tuple(f.name for f in fields(Texts) if f.type == "str")
_BOT_KEYS = {
    *_TEXT_KEYS,
    "quick_replies",
    "dialogue",
    "snippets",
    "support",
    "reassure",
    "hardship",
    "reported",
    "handoff",
    "roles",
}
#: the roles bot.yaml must give (see its comments)
ROLES = ("chat", "social", "no_support", "plan", "repeatable")


def _texts(data: Any, file: str) -> tuple[Texts, dict[str, tuple[Answer, ...]]]:
    """bot.yaml as a record: every text present, no key the bot would silently ignore."""
    if not isinstance(data, dict):
        raise KnowledgeError(file, f"the top level must be a mapping (got {_type_name(data)})")
    unknown = sorted(set(data) - _BOT_KEYS)
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), _BOT_KEYS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise KnowledgeError(
            file, f"unknown key; {hint}known: {', '.join(sorted(_BOT_KEYS))}", field=unknown[0]
        )
    for key in _TEXT_KEYS:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise KnowledgeError(
                file, f"a required text is missing or empty (got {_type_name(value)})", field=key
            )
    roles = data.get("roles")
    if not isinstance(roles, dict) or set(roles) != set(ROLES):
        got = sorted(roles) if isinstance(roles, dict) else _type_name(roles)
        raise KnowledgeError(
            file, f"must map exactly {', '.join(ROLES)} to lists of intents (got {got})", field="roles"
        )
    words = data.get("dialogue") or {}
    if not isinstance(words, dict):
        raise KnowledgeError(file, "must be a mapping of name → list of words", field="dialogue")
    snippets = data.get("snippets") or {}
    if not isinstance(snippets, dict):
        raise KnowledgeError(file, "must be a mapping of name → answer variants", field="snippets")
    reported = []
    raw_reported = data.get("reported") or []
    if not isinstance(raw_reported, list):
        raise KnowledgeError(file, "must be a list of {from, to, words}", field="reported")
    for i, item in enumerate(raw_reported):
        fld = f"reported[{i}]"
        if not isinstance(item, dict) or not {"from", "to", "words"} <= set(item) <= {
            "from",
            "to",
            "words",
            "asked",
        }:
            raise KnowledgeError(
                file, "each rule needs 'from', 'to' and 'words' (and may say 'asked: true')", field=fld
            )
        if not isinstance(item.get("asked", False), bool):
            raise KnowledgeError(file, f"must be true or false, not {item['asked']!r}", field=f"{fld}.asked")
        reported.append(
            Reported(
                _str_list(item["from"], file, None, f"{fld}.from", min_len=1),
                str(item["to"]),
                _str_list(item["words"], file, None, f"{fld}.words", min_len=1),
                bool(item.get("asked", False)),
            )
        )
    texts = Texts(
        **{k: data[k].strip() for k in _TEXT_KEYS},
        quick_replies=_str_list(data.get("quick_replies") or [], file, None, "quick_replies"),
        dialogue={str(k): _str_list(v, file, None, f"dialogue.{k}") for k, v in words.items()},
        support=_str_list(data.get("support") or [], file, None, "support"),
        reassure=_str_list(data.get("reassure") or [], file, None, "reassure"),
        hardship=_str_list(data.get("hardship") or [], file, None, "hardship"),
        reported=tuple(reported),
        handoff=handoff.parse(data.get("handoff"), file),
        roles={k: frozenset(_str_list(roles[k], file, None, f"roles.{k}")) for k in ROLES},
    )
    checked = {
        str(name): _answers(v, file, f"snippet {name}", fallback=False) for name, v in snippets.items()
    }
    return texts, checked


def wordings(it: Intent) -> list[tuple[str, Answer]]:
    """Every wording of an intent (and each point's own condition, as a wording without text),
    with where it is written: ``answers[0]`` for plain answers, ``points.NAME.variants[0]``."""
    out: list[tuple[str, Answer]] = []
    for p in it.points:
        if p.name == "answer" and not p.facts and not p.forms:
            out += [(f"answers[{i}]", v) for i, v in enumerate(p.variants)]
        elif re.fullmatch(r"more\d+", p.name) and not p.forms:
            out.append((f"more[{int(p.name[4:]) - 1}]", p.variants[0]))
        else:
            if p.when:
                out.append((f"points.{p.name}", Answer("", p.when, p.name)))
            if p.unless:
                out.append((f"points.{p.name}.unless", Answer("", p.unless, p.name)))
            if p.lead_when:
                out.append((f"points.{p.name}.lead", Answer("", p.lead_when, p.name)))
            if len(p.variants) == 1 and not p.variants[0].when:
                out.append((f"points.{p.name}.text", p.variants[0]))
            else:
                out += [(f"points.{p.name}.variants[{i}]", v) for i, v in enumerate(p.variants)]
    return out


def _check_conditions(
    intents: list[Intent],
    snippets: Mapping[str, tuple[Answer, ...]],
    bot_file: str,
    platforms: tuple[Platform, ...],
    kinds: Mapping[str, Kind],
) -> None:
    """Every platform and kind a `when` names exists: a typo would silently never match."""
    names = {p.name for p in platforms}
    known_kinds = {*kinds, "none"}
    places = [(it.source, it.name, wordings(it)) for it in intents]
    places += [
        (bot_file, f"snippet {name}", [(f"answers[{i}]", v) for i, v in enumerate(variants)])
        for name, variants in snippets.items()
    ]
    for file, owner, located in places:
        for where, a in located:
            where = where.removesuffix(".text")
            for value in a.when.get("platform", ()):
                if value not in names:
                    raise KnowledgeError(
                        file,
                        f"unknown platform {value!r} (not in platforms.yaml)",
                        intent=owner,
                        field=f"{where}.when.platform",
                    )
            for value in a.when.get("platform_kind", ()):
                if value not in known_kinds:
                    raise KnowledgeError(
                        file,
                        f"unknown kind {value!r}; known: {', '.join(sorted(known_kinds))}",
                        intent=owner,
                        field=f"{where}.when.platform_kind",
                    )


_SPECIAL = ("platforms", "lexicon", "bot", "plan")
#: the crisis intent every knowledge base must have, and the help lines its answers must give
SAFETY_INTENT = "distress"
HELP_LINES = ("12356", "400-161-9995", "010-82951332", "110", "120")
#: what answer templates may name: the slots, values derived from them, and the snippets
TEMPLATE_VALUES = frozenset(
    {
        "days_overdue",
        "platform",
        "amount",
        "monthly_budget",
        "product",
        "duration",
        "money",
        "lender",
        "complaint",
        "debt_label",
        "budget_money",
        "total_money",
        "months",
        "months_text",
        "plan_total",
        "plan",
        "elapsed",
        "days_left",
        "means_label",
        "left_money",
        "debts_text",
    }
)
#: and what bot.yaml's texts may name
TEXT_VALUES = frozenset(
    {
        "first",
        "second",
        "point",
        "label",
        "platform",
        "debt_label",
        "complaint",
        "total_money",
        "months_text",
        *TEMPLATE_VALUES,
    }
)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _check_safety(intents: list[Intent], path: Path) -> None:
    """The crisis answers cannot silently go: the intent is there and every answer gives a help line."""
    found = [it for it in intents if it.name == SAFETY_INTENT]
    if not found:
        raise KnowledgeError(
            str(path / "safety.yaml" if path.is_dir() else path),
            f"the crisis intent {SAFETY_INTENT!r} is missing (is safety.yaml empty or truncated?)",
            intent=SAFETY_INTENT,
        )
    for where, answer in wordings(found[0]):
        if answer.text and not any(line in answer.text for line in HELP_LINES):
            raise KnowledgeError(
                found[0].source,
                f"a crisis answer must give a help line ({', '.join(HELP_LINES)})",
                intent=SAFETY_INTENT,
                field=f"{where.removesuffix('.text')}.text",
            )


def _check_placeholders(
    intents: list[Intent], snippets: Mapping[str, tuple[Answer, ...]], texts: Texts, bot_file: str
) -> None:
    """Every {name} in a template is one the renderer fills: a typo would print nothing, silently."""
    known = TEMPLATE_VALUES | set(snippets)

    def check(text: str, allowed: frozenset[str] | set[str], file: str, owner: str | None, fld: str) -> None:
        for name in _PLACEHOLDER.findall(text):
            if name not in allowed:
                close = difflib.get_close_matches(name, sorted(allowed), n=1)
                hint = f"; did you mean {{{close[0]}}}?" if close else ""
                raise KnowledgeError(file, f"unknown placeholder {{{name}}}{hint}", intent=owner, field=fld)

    for it in intents:
        for where, a in wordings(it):
            fld = where if where.startswith("more[") or where.endswith(".text") else f"{where}.text"
            check(a.text, known, it.source, it.name, fld)
        for p in it.points:
            check(p.again, known, it.source, it.name, f"points.{p.name}.again")
        check(it.beyond, known, it.source, it.name, "beyond")
        check(it.ask, set(), it.source, it.name, "ask")
    for name, variants in snippets.items():
        for i, a in enumerate(variants):
            check(a.text, TEMPLATE_VALUES, bot_file, f"snippet {name}", f"answers[{i}].text")
    for key in _TEXT_KEYS:
        check(getattr(texts, key), TEXT_VALUES, bot_file, None, key)


def _plan_map(data: Any, file: str, key: str, names: tuple[str, ...]) -> dict[str, str]:
    """One of plan.yaml's mappings of name → text: exactly ``names``, every text non-empty."""
    raw = data.get(key)
    if not isinstance(raw, dict):
        raise KnowledgeError(
            file, f"must be a mapping of {', '.join(names)} (got {_type_name(raw)})", field=key
        )
    odd = sorted(set(map(str, raw)) ^ set(names))
    if odd:
        what = "unknown" if odd[0] in map(str, raw) else "missing"
        raise KnowledgeError(file, f"{what} {odd[0]!r}; known: {', '.join(names)}", field=key)
    out = {}
    for name in names:
        value = raw[name]
        if not isinstance(value, str) or not value.strip():
            raise KnowledgeError(
                file, f"must be a non-empty text (got {_type_name(value)})", field=f"{key}.{name}"
            )
        out[name] = value.strip("\n") if key == "frames" else value.strip()
    return out


def _plan(
    raw: Any,
    file: str,
    intents: list[Intent],
    snippets: Mapping[str, tuple[Answer, ...]],
    *,
    own: bool,
) -> PlanTexts:
    """plan.yaml as a record: every heading, frame, piece, question and paper there, every piece's
    wording resting on facts.md sections (or a point of a topic, which does), every placeholder
    one the plan fills.  A knowledge base without a plan.yaml of its own gets the shipped one; its
    points may name topics that knowledge base lacks, and a plan then leaves those lines out."""
    if not isinstance(raw, dict) or set(raw) != {"plan"} or not isinstance(raw["plan"], dict):
        raise KnowledgeError(file, "the top level must be one mapping, 'plan'", field="plan")
    data = raw["plan"]
    unknown = sorted(set(data) - {"headings", "frames", "pieces", "questions", "papers"})
    if unknown:
        raise KnowledgeError(
            file,
            "unknown key; known: frames, headings, papers, pieces, questions",
            field=f"plan.{unknown[0]}",
        )
    headings = _plan_map(data, file, "headings", PLAN_HEADINGS)
    frames = _plan_map(data, file, "frames", PLAN_FRAMES)
    questions = _plan_map(data, file, "questions", PLAN_QUESTIONS)
    papers = _plan_map(data, file, "papers", PLAN_PAPERS)
    points = {f"{it.name}/{p.name}" for it in intents for p in it.points}
    allowed = PLAN_VALUES | TEMPLATE_VALUES | set(snippets)
    raw_pieces = data.get("pieces")
    if not isinstance(raw_pieces, dict):
        raise KnowledgeError(file, f"must be a mapping of {', '.join(PLAN_PIECES)}", field="pieces")
    odd = sorted(set(map(str, raw_pieces)) ^ set(PLAN_PIECES))
    if odd:
        what = "unknown" if odd[0] in map(str, raw_pieces) else "missing"
        raise KnowledgeError(
            file, f"{what} piece {odd[0]!r}; known: {', '.join(PLAN_PIECES)}", field="pieces"
        )
    pieces: dict[str, tuple[PlanPiece, ...]] = {}
    for name in PLAN_PIECES:
        variants = raw_pieces[name]
        where = f"pieces.{name}"
        if not isinstance(variants, list) or not variants:
            raise KnowledgeError(file, "must be a non-empty list of wordings", field=where)
        out = []
        for i, item in enumerate(variants):
            fld = f"{where}[{i}]"
            if not isinstance(item, dict) or set(item) - {"when", "text", "point", "facts"}:
                raise KnowledgeError(
                    file, "a wording is a mapping of when, text or point, and facts", field=fld
                )
            if ("text" in item) == ("point" in item):
                raise KnowledgeError(file, "a wording has either 'text' or 'point' (one of them)", field=fld)
            when = _condition(item.get("when"), file, "plan", f"{fld}.when")
            bad_cue = [c for c in when.get("cue", ()) if c not in PLAN_CUES]
            if bad_cue:
                raise KnowledgeError(
                    file,
                    f"unknown cue {bad_cue[0]!r}; known: {', '.join(PLAN_CUES)}",
                    field=f"{fld}.when.cue",
                )
            if "point" in item:
                ref = item["point"]
                if not isinstance(ref, str) or not re.fullmatch(r"[a-z][a-z0-9_]*/[a-z][a-z0-9_]*", ref):
                    raise KnowledgeError(
                        file, f"must name a point as intent/point (got {ref!r})", field=f"{fld}.point"
                    )
                if own and ref not in points:
                    raise KnowledgeError(
                        file, f"no such point {ref!r} in the knowledge base", field=f"{fld}.point"
                    )
                if item.get("facts"):
                    raise KnowledgeError(
                        file,
                        "a point's wording rests on the point's own facts: leave 'facts' out",
                        field=f"{fld}.facts",
                    )
                out.append(PlanPiece(point=ref, when=when, name=f"{name}[{i}]"))
                continue
            text = item["text"]
            if not isinstance(text, str) or not text.strip():
                raise KnowledgeError(
                    file, f"must be a non-empty text (got {_type_name(text)})", field=f"{fld}.text"
                )
            facts = _facts(item.get("facts"), file, "plan", f"{fld}.facts")
            if not facts:
                raise KnowledgeError(
                    file,
                    "every wording the plan states names the facts.md sections it rests on (facts: [13])",
                    field=f"{fld}.facts",
                )
            out.append(PlanPiece(text=text.strip(), when=when, facts=facts, name=f"{name}[{i}]"))
        pieces[name] = tuple(out)
    texts = [(f"frames.{k}", v) for k, v in frames.items()]
    texts += [(f"questions.{k}", v) for k, v in questions.items()]
    texts += [(f"pieces.{k}[{i}].text", v.text) for k, vs in pieces.items() for i, v in enumerate(vs)]
    for fld, text in texts:
        for placeholder in _PLACEHOLDER.findall(text):
            if placeholder not in allowed:
                close = difflib.get_close_matches(placeholder, sorted(allowed), n=1)
                hint = f"; did you mean {{{close[0]}}}?" if close else ""
                raise KnowledgeError(file, f"unknown placeholder {{{placeholder}}}{hint}", field=fld)
    for fld, text in [(f"headings.{k}", v) for k, v in headings.items()] + [
        (f"papers.{k}", v) for k, v in papers.items()
    ]:
        if _PLACEHOLDER.search(text):
            raise KnowledgeError(file, "a heading or a paper's name fills in nothing", field=fld)
    return PlanTexts(headings, frames, pieces, questions, papers, source=file)


def load(path: str | Path | None = None) -> Knowledge:
    """Load a knowledge base: a folder of YAML files, or a single intents file.

    A single file, or a folder without them, gets the shipped platform catalogue, lexicon and
    bot texts.
    """
    path = Path(path) if path is not None else default_path()
    if not path.exists():
        raise KnowledgeError(str(path), "no such file or folder")
    files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    intents: list[Intent] = []
    special: dict[str, tuple[Path, dict[str, Any]]] = {}
    for f in files:
        data = _read(f)
        if data is None:
            raise KnowledgeError(
                str(f),
                "the file is empty (a truncated copy?): every file of the knowledge "
                "base must hold its intents or settings",
            )
        if not isinstance(data, dict):
            raise KnowledgeError(str(f), f"the top level must be a mapping (got {_type_name(data)})")
        if f.stem in _SPECIAL:
            special[f.stem] = (f, data)
        elif "intents" in data:
            intents += _intents(data["intents"], str(f))
        else:
            raise KnowledgeError(str(f), "expected a top-level 'intents' mapping")
    for stem in _SPECIAL:
        shipped = default_path() / f"{stem}.yaml"
        if stem not in special and shipped.exists():
            special[stem] = (shipped, _read(shipped) or {})
    names = {it.name for it in intents}
    own_safety = path.is_dir() and any(f.stem == "safety" for f in files)
    if SAFETY_INTENT not in names and not own_safety:
        # no crisis answers of its own: the shipped ones come with it, as the catalogue does
        intents += _intents(
            (_read(default_path() / "safety.yaml") or {}).get("intents"), str(default_path() / "safety.yaml")
        )
    if "platforms" not in special:
        raise KnowledgeError(str(path), "no platforms.yaml found")
    if not intents:
        raise KnowledgeError(str(path), "no intents found")
    platforms, kinds, stop, products = _platforms(special["platforms"][1], str(special["platforms"][0]))
    lex_path, lexicon = special.get("lexicon", (path / "lexicon.yaml", {}))
    if "bot" not in special:
        raise KnowledgeError(str(path), "no bot.yaml found")
    bot_path, bot_data = special["bot"]
    texts, snippets = _texts(bot_data, str(bot_path))
    intents = _shared_cues(intents, texts, str(bot_path))
    _check_placeholders(intents, snippets, texts, str(bot_path))
    seen: dict[str, str] = {}
    for it in intents:
        if it.name in seen:
            raise KnowledgeError(it.source, f"defined twice (also in {seen[it.name]})", intent=it.name)
        seen[it.name] = it.source
    _check_conditions(intents, snippets, str(bot_path), platforms, kinds)
    _check_safety(intents, path)
    # rules about intents this knowledge base does not have stay idle (a smaller knowledge base may
    # reuse the shipped bot.yaml); `overdue-bot check` lists them
    names = {it.name for it in intents}
    texts = replace(
        texts,
        reported=tuple(
            replace(r, sources=tuple(s for s in r.sources if s in names))
            for r in texts.reported
            if r.target in names
        ),
    )
    lex_file = str(lex_path)
    typos = lexicon.get("typos") or {}
    if not isinstance(typos, dict):
        raise KnowledgeError(lex_file, "must be a mapping of typo → fix", field="typos")
    synonyms: dict[str, str] = {}
    groups = lexicon.get("synonyms") or {}
    if not isinstance(groups, dict):
        raise KnowledgeError(lex_file, "must be a mapping of word → list of synonyms", field="synonyms")
    for head, words in groups.items():
        for w in _str_list(words, lex_file, None, f"synonyms.{head}"):
            synonyms[w.lower()] = str(head)
    words = _str_list(lexicon.get("words") or [], lex_file, None, "words")
    politeness = _str_list(lexicon.get("politeness") or [], lex_file, None, "politeness")
    clause_end = lexicon.get("clause_end") or {}
    if not isinstance(clause_end, dict):
        raise KnowledgeError(lex_file, "must be a mapping of phrase → rewrite", field="clause_end")
    not_before = lexicon.get("not_before") or {}
    if not isinstance(not_before, dict):
        raise KnowledgeError(
            lex_file, "must map a synonym to the words it is not rewritten before", field="not_before"
        )
    keep = {str(k).lower(): _str_list(v, lex_file, None, f"not_before.{k}") for k, v in not_before.items()}
    for word in keep:
        if word not in synonyms:
            raise KnowledgeError(
                lex_file, f"{word!r} is not a synonym of any group", field=f"not_before.{word}"
            )
    domain = lexicon.get("domain") or {}
    if not isinstance(domain, dict) or set(domain) - {"strong", "weak"}:
        raise KnowledgeError(lex_file, "must map strong and weak to word lists", field="domain")
    domain_words = {str(k): _str_list(v, lex_file, None, f"domain.{k}") for k, v in domain.items()}
    after_number = lexicon.get("after_number") or {}
    if not isinstance(after_number, dict):
        raise KnowledgeError(lex_file, "must be a mapping of unit → rewrite", field="after_number")
    sources = {stem: str(found[0]) for stem, found in special.items()}
    sources.setdefault("lexicon", lex_file)
    contexts = lexicon.get("contexts")
    if not isinstance(contexts, dict) or set(contexts) != set(CONTEXTS):
        got = sorted(contexts) if isinstance(contexts, dict) else _type_name(contexts)
        raise KnowledgeError(
            lex_file, f"must map exactly {', '.join(CONTEXTS)} to word lists (got {got})", field="contexts"
        )
    context_words = {k: _str_list(contexts[k], lex_file, None, f"contexts.{k}", min_len=1) for k in CONTEXTS}
    plan = None
    if "plan" in special:
        plan_path, plan_data = special["plan"]
        own = path.is_dir() and plan_path.resolve().parent == path.resolve()
        plan = _plan(plan_data, str(plan_path), intents, snippets, own=own)
    number_roles = _number_roles(lexicon.get("number_roles"), lex_file)
    stopwords = frozenset(_str_list(lexicon.get("stopwords") or [], lex_file, None, "stopwords"))
    questions = _str_list(lexicon.get("question_words"), lex_file, None, "question_words", min_len=1)
    questions_en = _str_list(lexicon.get("question_words_en") or [], lex_file, None, "question_words_en")
    return Knowledge(
        tuple(intents),
        platforms,
        kinds,
        stop,
        {str(k).lower(): str(v) for k, v in typos.items()},
        synonyms,
        words,
        texts,
        snippets,
        {str(k).lower(): str(v) for k, v in clause_end.items()},
        politeness,
        products,
        {str(k).lower(): str(v) for k, v in after_number.items()},
        domain_words,
        keep,
        tuple(
            w.lower()
            for w in _str_list(lexicon.get("latin_stopwords") or [], lex_file, None, "latin_stopwords")
        ),
        sources,
        stopwords,
        questions,
        tuple(w.lower() for w in questions_en),
        context_words,
        number_roles,
        plan,
    )


def _number_roles(raw: Any, lex_file: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """lexicon.yaml's number_roles: each role of NUMBER_ROLES, its words ``before`` and ``after``."""
    if raw is None:
        return {}  # a lexicon without it reads numbers by the contexts alone
    if not isinstance(raw, dict) or set(raw) - set(NUMBER_ROLES):
        got = sorted(map(str, raw)) if isinstance(raw, dict) else _type_name(raw)
        raise KnowledgeError(
            lex_file, f"must map roles among {', '.join(NUMBER_ROLES)} (got {got})", field="number_roles"
        )
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for role, sides in raw.items():
        if not isinstance(sides, dict) or not sides or set(sides) - {"before", "after"}:
            raise KnowledgeError(
                lex_file, "must map before and/or after to word lists", field=f"number_roles.{role}"
            )
        out[role] = {
            side: tuple(_str_list(words, lex_file, None, f"number_roles.{role}.{side}", min_len=1))
            for side, words in sides.items()
        }
    return out
