"""Read the knowledge base (a folder of YAML files) once, check it, and freeze it.

Every malformed file raises KnowledgeError naming the file, the intent and the field, so a
knowledge-base author never has to read a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import KnowledgeError
from .slots import Platform

# libyaml's safe loader when PyYAML was built with it (several times faster), else the Python one
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SLOT_NAMES = ("days_overdue", "platform", "amount")
_CONDITION_KEYS = {"days", "amount", "platform", "platform_kind", "has", "missing"}


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer variant and the slot conditions under which it is the right one."""

    text: str
    when: Mapping[str, Any] = field(default_factory=dict)
    name: str = "default"


@dataclass(frozen=True, slots=True)
class Intent:
    """An intent: what users say to mean it, and how the bot answers."""

    name: str
    examples: tuple[str, ...]
    answers: tuple[Answer, ...]
    needs: tuple[str, ...] = ()
    ask: str = ""
    legal: bool = False
    label: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class Knowledge:
    """The whole knowledge base as frozen records."""

    intents: tuple[Intent, ...]
    platforms: tuple[Platform, ...]
    kinds: Mapping[str, Mapping[str, str]]
    not_lender_after: Mapping[str, tuple[str, ...]]
    typos: Mapping[str, str]
    synonyms: Mapping[str, str]
    words: tuple[str, ...]
    texts: Mapping[str, Any]
    snippets: Mapping[str, tuple[Answer, ...]] = field(default_factory=dict)
    clause_end: Mapping[str, str] = field(default_factory=dict)
    politeness: tuple[str, ...] = ()


def default_path() -> Path:
    """The intents/ folder shipped with the package (or beside the source checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "intents", here.parents[1] / "intents"):
        if candidate.is_dir():
            return candidate
    raise KnowledgeError(str(here / "intents"), "the knowledge base folder was not found")


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


def _type_name(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _str_list(value: Any, file: str, intent: str | None, fld: str, *, min_len: int = 0) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or len(value) < min_len:
        need = f"a list of at least {min_len} strings" if min_len else "a list of strings"
        raise KnowledgeError(file, f"must be {need} (got {_type_name(value)}: {value!r:.60})",
                             intent=intent, field=fld)
    out = []
    for i, item in enumerate(value):
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item.strip():
            raise KnowledgeError(file, f"item {i + 1} must be a non-empty string (got {item!r:.60})",
                                 intent=intent, field=fld)
        out.append(item.strip())
    return tuple(out)


def _condition(when: Any, file: str, intent: str, fld: str) -> dict[str, Any]:
    if when is None:
        return {}
    if not isinstance(when, dict):
        raise KnowledgeError(file, f"must be a mapping of conditions (got {_type_name(when)})",
                             intent=intent, field=fld)
    unknown = set(when) - _CONDITION_KEYS
    if unknown:
        raise KnowledgeError(
            file, f"unknown condition {sorted(unknown)[0]!r}; known: {', '.join(sorted(_CONDITION_KEYS))}",
            intent=intent, field=fld)
    out: dict[str, Any] = {}
    for key, value in when.items():
        if key in ("days", "amount"):
            if (not isinstance(value, list) or len(value) != 2
                    or not all(v is None or isinstance(v, int) for v in value)):
                raise KnowledgeError(file, f"{key} must be [min, max] with integers or null (got {value!r})",
                                     intent=intent, field=fld)
            out[key] = (value[0], value[1])
        elif key in ("has", "missing"):
            names = _str_list(value, file, intent, f"{fld}.{key}")
            bad = [n for n in names if n not in SLOT_NAMES]
            if bad:
                raise KnowledgeError(file, f"unknown slot {bad[0]!r}", intent=intent, field=f"{fld}.{key}")
            out[key] = names
        else:
            out[key] = _str_list(value, file, intent, f"{fld}.{key}")
    return out


def _answers(raw: Any, file: str, intent: str, *, fallback: bool = True) -> tuple[Answer, ...]:
    """Answer variants; with ``fallback`` the last one must be unconditional."""
    if isinstance(raw, str):
        raw = [{"text": raw}]
    if not isinstance(raw, list) or not raw:
        raise KnowledgeError(file, f"must be a non-empty list of answers (got {_type_name(raw)})",
                             intent=intent, field="answers")
    out = []
    for i, item in enumerate(raw):
        fld = f"answers[{i}]"
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict):
            raise KnowledgeError(file, f"must be a mapping with 'text' (got {_type_name(item)})",
                                 intent=intent, field=fld)
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            raise KnowledgeError(file, f"'text' must be a non-empty string (got {_type_name(text)})",
                                 intent=intent, field=f"{fld}.text")
        unknown = set(item) - {"text", "when", "name"}
        if unknown:
            raise KnowledgeError(file, f"unknown key {sorted(unknown)[0]!r}", intent=intent, field=fld)
        when = _condition(item.get("when"), file, intent, f"{fld}.when")
        name = str(item.get("name") or (f"variant{i + 1}" if when else "default"))
        out.append(Answer(text.strip(), when, name))
    if fallback and out[-1].when:
        raise KnowledgeError(file, "the last answer must have no 'when': it is the general answer "
                             "given when no condition holds", intent=intent, field=f"answers[{len(out) - 1}]")
    return tuple(out)


_INTENT_KEYS = {"examples", "answers", "needs", "ask", "legal", "label"}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _intents(data: Any, file: str) -> list[Intent]:
    if not isinstance(data, dict):
        raise KnowledgeError(file, f"'intents' must be a mapping of intent names (got {_type_name(data)})",
                             field="intents")
    out = []
    for name, body in data.items():
        name = str(name)
        if not _NAME.match(name):
            raise KnowledgeError(file, "an intent name must be lower_snake_case", intent=name)
        if not isinstance(body, dict):
            raise KnowledgeError(file, f"must be a mapping (got {_type_name(body)})", intent=name)
        unknown = set(body) - _INTENT_KEYS
        if unknown:
            raise KnowledgeError(file, f"unknown key; known: {', '.join(sorted(_INTENT_KEYS))}",
                                 intent=name, field=sorted(unknown)[0])
        examples = _str_list(body.get("examples"), file, name, "examples", min_len=1)
        needs = _str_list(body.get("needs") or [], file, name, "needs")
        bad = [n for n in needs if n not in SLOT_NAMES]
        if bad:
            raise KnowledgeError(file, f"unknown slot {bad[0]!r}; known: {', '.join(SLOT_NAMES)}",
                                 intent=name, field="needs")
        ask = body.get("ask") or ""
        if needs and (not isinstance(ask, str) or not ask.strip()):
            raise KnowledgeError(file, "an intent that needs a slot must say how to ask for it",
                                 intent=name, field="ask")
        legal = body.get("legal", False)
        if not isinstance(legal, bool):
            raise KnowledgeError(file, f"must be true or false (got {legal!r})", intent=name, field="legal")
        out.append(Intent(name, examples, _answers(body.get("answers"), file, name), needs,
                          str(ask).strip(), legal, str(body.get("label") or name), file))
    return out


def _platforms(data: Any, file: str) -> tuple[tuple[Platform, ...], dict[str, Any], dict[str, tuple[str, ...]]]:
    if not isinstance(data, dict):
        raise KnowledgeError(file, "must be a mapping with 'platforms'", field="platforms")
    kinds = data.get("kinds") or {}
    if not isinstance(kinds, dict):
        raise KnowledgeError(file, "must be a mapping", field="kinds")
    plats = data.get("platforms")
    if not isinstance(plats, list) or not plats:
        raise KnowledgeError(file, f"must be a non-empty list (got {_type_name(plats)})", field="platforms")
    out = []
    for i, p in enumerate(plats):
        fld = f"platforms[{i}]"
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise KnowledgeError(file, "each platform needs a 'name'", field=fld)
        kind = p.get("kind")
        if kind not in kinds:
            raise KnowledgeError(file, f"kind {kind!r} of {p['name']} is not one of {sorted(kinds)}",
                                 field=f"{fld}.kind")
        out.append(Platform(p["name"], kind, _str_list(p.get("aliases") or [], file, None, f"{fld}.aliases"),
                            _str_list(p.get("prefixes") or [], file, None, f"{fld}.prefixes")))
    stop = {str(k): _str_list(v or [], file, None, f"not_lender_after.{k}")
            for k, v in (data.get("not_lender_after") or {}).items()}
    return tuple(out), kinds, stop


_SPECIAL = ("platforms", "lexicon", "bot")


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
            continue
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
    if "platforms" not in special:
        raise KnowledgeError(str(path), "no platforms.yaml found")
    if not intents:
        raise KnowledgeError(str(path), "no intents found")
    platforms = _platforms(special["platforms"][1], str(special["platforms"][0]))
    lex_path, lexicon = special.get("lexicon", (path / "lexicon.yaml", {}))
    bot_path, texts = special.get("bot", (path / "bot.yaml", {}))
    seen: dict[str, str] = {}
    for it in intents:
        if it.name in seen:
            raise KnowledgeError(it.source, f"defined twice (also in {seen[it.name]})", intent=it.name)
        seen[it.name] = it.source
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
    dialogue_words = texts.get("dialogue") or {}
    if not isinstance(dialogue_words, dict):
        raise KnowledgeError(str(bot_path), "must be a mapping of name → list of words", field="dialogue")
    texts = {**texts, "dialogue": {str(k): _str_list(v, str(bot_path), None, f"dialogue.{k}")
                                   for k, v in dialogue_words.items()}}
    snippets = texts.get("snippets") or {}
    if not isinstance(snippets, dict):
        raise KnowledgeError(str(bot_path), "must be a mapping of name → answer variants", field="snippets")
    checked = {str(name): _answers(v, str(bot_path), f"snippet {name}", fallback=False)
               for name, v in snippets.items()}
    return Knowledge(tuple(intents), platforms[0], platforms[1], platforms[2],
                     {str(k).lower(): str(v) for k, v in typos.items()}, synonyms, words,
                     {k: v for k, v in texts.items() if k != "snippets"}, checked,
                     {str(k).lower(): str(v) for k, v in clause_end.items()}, politeness)
