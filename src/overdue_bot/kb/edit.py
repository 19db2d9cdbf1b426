"""Adding an example to a knowledge-base file without disturbing the rest of it.

The file is edited as text, at the place YAML's own parser says the intent's example list ends,
so comments, order and layout stay as the author left them.  The knowledge base is loaded again
afterwards; if it no longer loads, the file is put back and the error raised.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from ..errors import KnowledgeError
from . import loader as knowledge


def _scalar(text: str, flow: bool) -> str:
    """``text`` as a YAML scalar that reads back as exactly ``text``."""
    probe = f"[{text}]" if flow else f"- {text}"
    try:
        if yaml.safe_load(probe) == [text]:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def add_example(kb_path: str | Path | None, intent: str, text: str) -> Path | None:
    """Append ``text`` to ``intent``'s examples in the file that defines it; the file, or None when
    the intent already has this example.  Raises KnowledgeError for an unknown intent."""
    kb = knowledge.load(kb_path)
    found = next((it for it in kb.intents if it.name == intent), None)
    if found is None:
        raise KnowledgeError(
            str(kb_path or knowledge.default_path()), f"no intent {intent!r} to add an example to"
        )
    if text in found.examples:
        return None
    path = Path(found.source)
    original = path.read_text(encoding="utf-8")
    node = yaml.compose(original)
    examples = _examples_node(node, intent, path)
    lines = original.split("\n")
    if examples.flow_style:
        end = examples.end_mark.index - 1  # the closing ]
        while end > 0 and original[end] != "]":
            end -= 1
        before = original[:end].rstrip()
        sep = "" if before.endswith("[") else ", "
        edited = before + sep + _scalar(text, flow=True) + original[end:]
    else:
        last = examples.value[-1]
        first_line = lines[examples.value[0].start_mark.line]
        dash = first_line.index("-")
        line = last.end_mark.line if last.end_mark.column > 0 else last.end_mark.line - 1
        lines.insert(line + 1, " " * dash + "- " + _scalar(text, flow=False))
        edited = "\n".join(lines)
    path.write_text(edited, encoding="utf-8")
    try:
        again = knowledge.load(kb_path)
        if text not in next(it for it in again.intents if it.name == intent).examples:
            raise KnowledgeError(str(path), "the example did not land in the intent's list", intent=intent)
    except Exception:
        path.write_text(original, encoding="utf-8")
        raise
    return path


def _examples_node(root: yaml.Node | None, intent: str, path: Path) -> yaml.SequenceNode:
    def get(node: yaml.Node | None, key: str) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == key:
                    return v
        return None

    examples = get(get(get(root, "intents"), intent), "examples")
    if not isinstance(examples, yaml.SequenceNode) or not examples.value:
        raise KnowledgeError(str(path), "no list of examples to add to", intent=intent, field="examples")
    return examples
