"""The built bot: ``build(knowledge, config) -> Model`` is pure; ``load`` is the adapter around it
that reads the knowledge-base files and keeps the trained index in the cache.

A Model is immutable: its understanding (analysed examples, ranking tables) and its dialogue
(compiled cue words, the checked table) never change after the build, so one Model serves every
thread and a reload is a new Model swapped in whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cache
from .config import DEFAULT, MatcherConfig
from .dialogue.machine import Dialogue
from .kb import loader as knowledge
from .nlu.pipeline import Understanding, dictionary_words
from .nlu.tokenizer import Tokenizer
from .records import Knowledge


@dataclass(frozen=True, slots=True)
class Model:
    knowledge: Knowledge
    config: MatcherConfig
    nlu: Understanding
    dialogue: Dialogue


def build(kb: Knowledge, config: MatcherConfig = DEFAULT, *, state: Any | None = None) -> Model:
    """The model of a validated knowledge base; ``state`` is a matcher state saved earlier (else it is trained)."""
    return Model(kb, config, Understanding(kb, config=config, state=state), Dialogue(kb, config))


def load(kb: Knowledge | str | Path | None = None, config: MatcherConfig = DEFAULT) -> Model:
    """The model of a knowledge base (a folder, a file, the shipped one by default), its index
    read from the cache (or the wheel) when there is one and saved there when it was built."""
    if not isinstance(kb, Knowledge):
        kb = knowledge.load(kb)
    name = index_name(kb, config)
    model = build(kb, config, state=cache.load(name))
    if model.nlu.built:
        cache.save(name, model.nlu.state(), family="overdue_bot-index-")
    return model


def index_name(kb: Knowledge, config: MatcherConfig) -> str:
    """The cache name of a knowledge base's index: the examples, the language data, the
    configuration and the package build (version, and in a source checkout the code)."""
    key = cache.digest(
        [(ex, it.name) for it in kb.intents for ex in it.examples],
        [(form, it.name, p.name, p.lead) for it in kb.intents for p in it.points for form in p.forms],
        [it.leads[0].name for it in kb.intents],
        sorted(kb.typos.items()),
        sorted(kb.synonyms.items()),
        kb.words,
        kb.platforms,
        sorted(kb.not_lender_after.items()),
        sorted(kb.clause_end.items()),
        sorted(kb.after_number.items()),
        sorted(kb.domain.items()),
        sorted(kb.not_before.items()),
        kb.latin_stopwords,
        kb.politeness,
        sorted(kb.products.items()),
        sorted(kb.stopwords),
        kb.question_words,
        kb.question_words_en,
        sorted(kb.contexts.items()),
        config.digest(),
        cache.build_id(),
    )
    return f"overdue_bot-index-{key}.cache"


def needs_build(kb: Knowledge, config: MatcherConfig = DEFAULT) -> bool:
    """Whether a Bot for ``kb`` will build its index or dictionary (seconds) rather than load them."""
    return not (
        cache.exists(index_name(kb, config))
        and cache.exists(Tokenizer.cache_name(dictionary_words(kb), config.min_freq))
    )
