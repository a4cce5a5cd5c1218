"""A spaCy Matcher that only runs patterns where a document can possibly match them.

spaCy's Matcher tries every token pattern at every token, and a pattern with a word list
(`{"LOWER": {"IN": [...]}}`) makes it build a Python object for every token: a few dozen
rule patterns then cost several times the tokenizer. Two exact short cuts:

- Most patterns have a token that must be present (a word list, an exact word, a shape).
  When a document holds none of its values, the pattern cannot match and is skipped.
- A pattern of bounded length L (no `*` or `+`) can only match within L tokens of one of
  those required tokens, so it runs on those windows of the document, not the whole text.

The checks read the document's attribute arrays, so results equal the plain Matcher's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from spacy.attrs import LOWER, ORTH, PREFIX, SHAPE
from spacy.matcher import Matcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

ANCHOR_ATTRS = {"LOWER": LOWER, "ORTH": ORTH, "TEXT": ORTH, "SHAPE": SHAPE, "PREFIX": PREFIX}
Requirement = tuple[int, frozenset[int]]


class _Entry:
    """One pattern: its own Matcher, the tokens it requires and its longest match."""

    def __init__(self, matcher: Matcher, requirements: list[Requirement], max_length: int | None):
        self.matcher = matcher
        self.requirements = requirements
        self.max_length = max_length
        # the requirement with the fewest accepted values indexes the entry and places windows
        self.anchor = min(requirements, key=lambda r: len(r[1])) if requirements else None


class AnchoredMatcher:
    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self._entries: list[_Entry] = []
        self._unanchored: list[int] = []
        # attribute -> value -> entries whose anchor accepts that value
        self._index: dict[int, dict[int, list[int]]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, key: str, pattern: list[dict[str, Any]], greedy: str | None = None) -> None:
        matcher = Matcher(self.vocab)
        matcher.add(key, [pattern], greedy=greedy)
        entry = _Entry(matcher, self._requirements(pattern), _max_length(pattern))
        position = len(self._entries)
        self._entries.append(entry)
        if entry.anchor is None:
            self._unanchored.append(position)
            return
        attr, values = entry.anchor
        table = self._index.setdefault(attr, {})
        for value in values:
            table.setdefault(value, []).append(position)

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        if not len(doc):
            return []
        columns: dict[int, list[int]] = {}
        present: dict[int, set[int]] = {}

        def values(attr: int) -> set[int]:
            if attr not in present:
                columns[attr] = doc.to_array(attr).tolist()
                present[attr] = set(columns[attr])
            return present[attr]

        candidates = set(self._unanchored)
        for attr, table in self._index.items():
            for value in values(attr).intersection(table):
                candidates.update(table[value])
        matches = []
        for position in sorted(candidates):
            entry = self._entries[position]
            if not all(not wanted.isdisjoint(values(attr)) for attr, wanted in entry.requirements):
                continue
            if entry.max_length is None or entry.anchor is None:
                matches.extend(entry.matcher(doc))
                continue
            attr, anchor_values = entry.anchor
            hits = [i for i, value in enumerate(columns[attr]) if value in anchor_values]
            for start, end in _windows(hits, entry.max_length, len(doc)):
                matches.extend((key, start + s, start + e)
                               for key, s, e in entry.matcher(doc[start:end]))
        return matches

    def _requirements(self, pattern: Iterable[dict[str, Any]]) -> list[Requirement]:
        """For each token that must occur, the attribute values it accepts."""
        requirements = []
        for spec in pattern:
            if not _is_required(spec.get("OP")):
                continue
            for key, attr in ANCHOR_ATTRS.items():
                accepted = _accepted_values(spec.get(key))
                if accepted is not None:
                    requirements.append(
                        (attr, frozenset(self.vocab.strings.add(v) for v in accepted))
                    )
                    break
        return requirements


def _max_length(pattern: list[dict[str, Any]]) -> int | None:
    """The most tokens a match can span, or None when a `*`, `+` or `{n,}` makes it unbounded."""
    total = 0
    for spec in pattern:
        op = spec.get("OP")
        if op in (None, "?", "!", "!?"):
            total += 1
        elif op.startswith("{") and not op.endswith(",}"):
            total += int(op.strip("{}").split(",")[-1])
        else:
            return None
    return total


def _windows(hits: list[int], length: int, n_tokens: int) -> list[tuple[int, int]]:
    """Merged token windows [start, end) within `length` tokens of each hit."""
    windows: list[tuple[int, int]] = []
    for hit in hits:
        start, end = max(0, hit - length + 1), min(n_tokens, hit + length)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def _is_required(op: str | None) -> bool:
    """True when the quantifier makes at least one occurrence of the token necessary."""
    if op is None or op == "+":
        return True
    return op.startswith("{") and not op.startswith(("{0", "{,"))


def _accepted_values(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict) and set(value) == {"IN"}:
        return [str(v) for v in value["IN"]]
    return None
