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

import functools
import re
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

import numpy
from spacy.attrs import LOWER, ORTH, PREFIX, SHAPE
from spacy.matcher import Matcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

ANCHOR_ATTRS = {"LOWER": LOWER, "ORTH": ORTH, "TEXT": ORTH, "SHAPE": SHAPE, "PREFIX": PREFIX}
EAGER_ATTRS = (LOWER, SHAPE)
Requirement = tuple[int, frozenset[int]]
OTHER_TOKEN = "\x01"  # the character for a token outside every word list
# attribute -> value -> its character in the expressions: one table for the process (hash
# values are the same in every vocabulary), so all matchers read one text per document
TOKEN_CHARACTERS: dict[int, dict[int, str]] = {}


class DocColumns:
    """A document's token attributes as arrays, lists and sets, each read once.

    `Doc.to_array` costs about 1.7 µs per attribute for a 55-token comment (a few percent
    of tokenizing it), so only `LOWER` and `SHAPE`, which the codebook and the detectors
    always read, are read up front; the rest when first asked for."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        table = doc.to_array(list(EAGER_ATTRS))
        self._arrays = {attr: table[:, i] for i, attr in enumerate(EAGER_ATTRS)}
        self._lists: dict[int, list[int]] = {}
        self._sets: dict[int, set[int]] = {}
        self._texts: dict[int, str] = {}

    @functools.cached_property
    def text(self) -> str:
        """`doc.text`, which spaCy joins from the tokens anew at every call (several µs a
        comment): read once for every detector that works on the characters."""
        return self.doc.text

    def array(self, attr: int) -> numpy.ndarray:
        if attr not in self._arrays:
            self._arrays[attr] = self.doc.to_array(attr)
        return self._arrays[attr]

    def values(self, attr: int) -> list[int]:
        if attr not in self._lists:
            self._lists[attr] = self.array(attr).tolist()
        return self._lists[attr]

    def present(self, attr: int) -> set[int]:
        if attr not in self._sets:
            self._sets[attr] = set(self.values(attr))
        return self._sets[attr]

    def token_text(self, attr: int) -> str:
        """The document as one character per token (see `TOKEN_CHARACTERS`)."""
        if attr not in self._texts:
            characters = TOKEN_CHARACTERS[attr]
            self._texts[attr] = "".join([characters.get(value, OTHER_TOKEN)
                                         for value in self.values(attr)])
        return self._texts[attr]


_shared: ContextVar[DocColumns | None] = ContextVar("themekit_doc_columns", default=None)


class shared_columns:  # noqa: N801 (used as a context manager, like contextlib's)
    """Within the block, `columns(doc)` returns one shared `DocColumns` for `doc`."""

    def __init__(self, doc: Doc) -> None:
        self._columns = DocColumns(doc)

    def __enter__(self) -> DocColumns:
        self._token = _shared.set(self._columns)
        return self._columns

    def __exit__(self, *_: object) -> None:
        _shared.reset(self._token)


def columns(doc: Doc) -> DocColumns:
    """The shared columns of `doc` inside `shared_columns(doc)`, fresh ones elsewhere."""
    shared = _shared.get()
    return shared if shared is not None and shared.doc is doc else DocColumns(doc)


class ShapeGate:
    """A quick necessary condition for a detector: does any token's shape pass `test`?

    spaCy's shapes ("Xxxx", "dd.dd", "xx@xxxx.xxx") are few, because long runs are cut, so
    each shape is tested once per process and a document costs one set operation. A token
    of 100 characters or more has the shape "LONG", which always passes."""

    def __init__(self, vocab: Vocab, test: Callable[[str], bool]) -> None:
        self.strings = vocab.strings
        self.test = test
        self._tested: set[int] = set()
        self._passing: set[int] = set()

    def __call__(self, cols: DocColumns) -> bool:
        shapes = cols.present(SHAPE)
        for shape in shapes - self._tested:
            self._tested.add(shape)
            text = self.strings[shape]
            if text == "LONG" or self.test(text):
                self._passing.add(shape)
        return not self._passing.isdisjoint(shapes)


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
    """Finds, for each pattern added, exactly what a spaCy `Matcher` finds (`add`, then
    call it on a doc), running each pattern only where it can match (see the module's
    notes). Each pattern gets its own Matcher, so `greedy` filters each pattern's matches,
    not all the matches of a key: patterns that share a key may overlap (the detectors
    pass their spans through spaCy's `filter_spans`)."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self._entries: list[_Entry] = []
        self._unanchored: list[int] = []
        # attribute -> value -> entries whose anchor accepts that value
        self._index: dict[int, dict[int, list[int]]] = {}
        # attribute -> the values indexed, as a set: intersecting a set with a dict walks
        # the whole dict, with another set only the smaller side (8 µs against 0.5)
        self._indexed: dict[int, frozenset[int]] = {}

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
        self._indexed[attr] = frozenset(table)

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        cols = columns(doc)
        candidates = set(self._unanchored)
        for attr, table in self._index.items():
            for value in cols.present(attr) & self._indexed[attr]:
                candidates.update(table[value])
        matches: list[tuple[int, int, int]] = []
        for position in sorted(candidates):
            entry = self._entries[position]
            for attr, wanted in entry.requirements:
                if wanted.isdisjoint(cols.present(attr)):
                    break
            else:
                for start, end in self._entry_windows(entry, cols):
                    if start == 0 and end == len(doc):
                        matches.extend(entry.matcher(doc))
                    else:
                        matches.extend((key, start + s, start + e)
                                       for key, s, e in entry.matcher(doc[start:end]))
        return matches

    @staticmethod
    def _entry_windows(entry: _Entry, cols: DocColumns) -> list[tuple[int, int]]:
        """Where the entry's matches can lie, given that its required tokens all occur."""
        n_tokens = len(cols.doc)
        if entry.expression is not None:
            attr, expression = entry.expression
            return _expression_windows(expression, cols.token_text(attr), entry.max_length)
        if entry.max_length is not None and entry.anchor is not None:
            attr, anchor_values = entry.anchor
            hits = [i for i, value in enumerate(cols.values(attr)) if value in anchor_values]
            return _hit_windows(hits, entry.max_length, n_tokens)
        return [(0, n_tokens)]

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
            characters = TOKEN_CHARACTERS.setdefault(attr, {})
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


def _hit_windows(hits: list[int], length: int, n_tokens: int) -> list[tuple[int, int]]:
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
