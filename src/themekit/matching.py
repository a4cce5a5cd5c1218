"""A spaCy Matcher that only runs patterns where a document can possibly match them.

spaCy's Matcher tries every token pattern at every token, and a pattern with a word list
(`{"LOWER": {"IN": [...]}}`) makes it build a Python object for every token: a few dozen
rule patterns then cost several times the tokenizer. Three exact short cuts:

- Most patterns have a token that must be present (a word list, an exact word, a shape).
  When a document holds none of its values, the pattern cannot match and is skipped.
- A pattern whose tokens all test one attribute (`LOWER`, `ORTH`, `SHAPE`...) with a value
  or a word list is also compiled to a regular expression over the document's tokens, one
  character per token. The expression accepts exactly the token sequences the pattern
  does, so where it finds nothing the Matcher would find nothing either.
- A pattern of bounded length L (no `*` or `+`) can only match within L tokens of where
  the expression (or a required token) matches, so the Matcher runs on those windows of
  the document, not the whole text.

Every check reads the document's attribute arrays (`DocColumns`, read once per document
and shared by all matchers and detectors of one component call), and the final matches
come from spaCy's own Matcher, so results equal the plain Matcher's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy
from spacy.attrs import LIKE_EMAIL, LIKE_URL, LOWER, ORTH, PREFIX, SHAPE
from spacy.matcher import Matcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

ANCHOR_ATTRS = {"LOWER": LOWER, "ORTH": ORTH, "TEXT": ORTH, "SHAPE": SHAPE, "PREFIX": PREFIX}
COLUMN_ATTRS = (LOWER, ORTH, SHAPE, PREFIX, LIKE_URL, LIKE_EMAIL)
Requirement = tuple[int, frozenset[int]]
OTHER_TOKEN = "\x01"  # the character for a token outside every word list of a matcher


class DocColumns:
    """A document's token attributes from a single `Doc.to_array`, as arrays, lists and sets."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self._table = doc.to_array(list(COLUMN_ATTRS)) if len(doc) else None
        self._lists: dict[int, list[int]] = {}
        self._sets: dict[int, set[int]] = {}

    def array(self, attr: int) -> numpy.ndarray:
        if self._table is None:
            return numpy.zeros(0, dtype="uint64")
        if attr in COLUMN_ATTRS:
            return self._table[:, COLUMN_ATTRS.index(attr)]
        return self.doc.to_array(attr)

    def values(self, attr: int) -> list[int]:
        if attr not in self._lists:
            self._lists[attr] = self.array(attr).tolist()
        return self._lists[attr]

    def present(self, attr: int) -> set[int]:
        if attr not in self._sets:
            self._sets[attr] = set(self.values(attr))
        return self._sets[attr]


_shared: ContextVar[DocColumns | None] = ContextVar("themekit_doc_columns", default=None)


@contextmanager
def shared_columns(doc: Doc) -> Iterator[DocColumns]:
    """Within the block, `columns(doc)` returns one shared `DocColumns` for `doc`."""
    token = _shared.set(DocColumns(doc))
    try:
        yield _shared.get()
    finally:
        _shared.reset(token)


def columns(doc: Doc) -> DocColumns:
    """The shared columns of `doc` inside `shared_columns(doc)`, fresh ones elsewhere."""
    shared = _shared.get()
    return shared if shared is not None and shared.doc is doc else DocColumns(doc)


class _Entry:
    """One pattern: its own Matcher, the tokens it requires, its longest match, its
    expression over token characters (when it has one)."""

    def __init__(self, matcher: Matcher, requirements: list[Requirement],
                 max_length: int | None, expression: tuple[int, re.Pattern] | None):
        self.matcher = matcher
        self.requirements = requirements
        self.max_length = max_length
        self.expression = expression
        # the requirement with the fewest accepted values indexes the entry and places windows
        self.anchor = min(requirements, key=lambda r: len(r[1])) if requirements else None


class AnchoredMatcher:
    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self._entries: list[_Entry] = []
        self._unanchored: list[int] = []
        # attribute -> value -> entries whose anchor accepts that value
        self._index: dict[int, dict[int, list[int]]] = {}
        # attribute -> value -> its character in the expressions
        self._characters: dict[int, dict[int, str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, key: str, pattern: list[dict[str, Any]], greedy: str | None = None) -> None:
        matcher = Matcher(self.vocab)
        matcher.add(key, [pattern], greedy=greedy)
        entry = _Entry(matcher, self._requirements(pattern), _max_length(pattern),
                       self._expression(pattern))
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
        cols = columns(doc)
        candidates = set(self._unanchored)
        for attr, table in self._index.items():
            for value in cols.present(attr).intersection(table):
                candidates.update(table[value])
        matches = []
        texts: dict[int, str] = {}
        for position in sorted(candidates):
            entry = self._entries[position]
            if entry.expression is not None:  # it holds the requirements and more
                attr, expression = entry.expression
                if attr not in texts:
                    texts[attr] = self._token_text(cols, attr)
                windows = _expression_windows(expression, texts[attr], entry.max_length)
            elif not all(not wanted.isdisjoint(cols.present(attr))
                         for attr, wanted in entry.requirements):
                continue
            elif entry.max_length is not None and entry.anchor is not None:
                attr, anchor_values = entry.anchor
                hits = [i for i, value in enumerate(cols.values(attr)) if value in anchor_values]
                windows = _windows(hits, entry.max_length, len(doc))
            else:
                windows = [(0, len(doc))]
            for start, end in windows:
                if (start, end) == (0, len(doc)):
                    matches.extend(entry.matcher(doc))
                else:
                    matches.extend((key, start + s, start + e)
                                   for key, s, e in entry.matcher(doc[start:end]))
        return matches

    def _token_text(self, cols: DocColumns, attr: int) -> str:
        """The document as one character per token: its value's character, or OTHER_TOKEN."""
        characters = self._characters[attr]
        return "".join([characters.get(value, OTHER_TOKEN) for value in cols.values(attr)])

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

    def _expression(self, pattern: list[dict[str, Any]]) -> tuple[int, re.Pattern] | None:
        """The pattern as a regular expression over token characters, when every token tests
        one and the same attribute (or is a wildcard `{}`) with a plain quantifier."""
        keys = {key for spec in pattern for key in spec if key != "OP"}
        if len(keys) != 1 or keys.pop() not in ANCHOR_ATTRS:
            return None
        parts = []
        attr = None
        for spec in pattern:
            quantifier = _quantifier(spec.get("OP"))
            if quantifier is None:
                return None
            test = {key: value for key, value in spec.items() if key != "OP"}
            if not test:
                parts.append("." + quantifier)
                continue
            (key, value), = test.items()
            accepted = _accepted_values(value)
            if accepted is None:
                return None
            attr = ANCHOR_ATTRS[key]
            characters = self._characters.setdefault(attr, {})
            chars = []
            for text in accepted:
                value_id = self.vocab.strings.add(text)
                if value_id not in characters:
                    characters[value_id] = chr(0x100 + len(characters))
                chars.append(characters[value_id])
            parts.append("[" + "".join(sorted(set(chars))) + "]" + quantifier)
        if attr is None:
            return None
        return attr, re.compile("".join(parts), re.DOTALL)


def _quantifier(op: str | None) -> str | None:
    """A spaCy OP as a regular-expression quantifier; None for negation and unknown ops."""
    if op is None:
        return ""
    if op in ("?", "*", "+"):
        return op
    if re.fullmatch(r"\{\d*,?\d*\}", op) and op != "{,}":
        low, sep, high = op.strip("{}").partition(",")
        return "{" + (low or "0") + sep + high + "}"
    return None


def _expression_windows(
    expression: re.Pattern, text: str, length: int | None
) -> list[tuple[int, int]]:
    """Token windows that hold every match of the pattern; none where the expression finds
    nothing. Any match starts inside (or at the start of) a match the scan finds, because the
    scan takes the leftmost match each time, so `length` tokens after each found start cover
    it."""
    windows: list[tuple[int, int]] = []
    for found in expression.finditer(text):
        if length is None:
            return [(0, len(text))]
        start = found.start()
        end = min(len(text), max(found.end(), start + 1) + length - 1)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(end, windows[-1][1]))
        else:
            windows.append((start, end))
    return windows


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
