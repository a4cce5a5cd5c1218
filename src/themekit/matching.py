"""A spaCy Matcher that only runs the patterns a document can possibly match.

spaCy's Matcher tries every token pattern at every token, which makes a few hundred rule
patterns cost several times the tokenizer. Most patterns have a token that must be present
(a word list, an exact word, a shape); when a document holds none of that token's values,
the pattern cannot match and is skipped. The check is a set look-up on the document's
attribute arrays, so skipping is exact: results equal the plain Matcher's.
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


class AnchoredMatcher:
    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self._entries: list[tuple[list[Requirement], Matcher]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, key: str, pattern: list[dict[str, Any]], greedy: str | None = None) -> None:
        matcher = Matcher(self.vocab)
        matcher.add(key, [pattern], greedy=greedy)
        self._entries.append((self._requirements(pattern), matcher))

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        present: dict[int, set[int]] = {}

        def values(attr: int) -> set[int]:
            if attr not in present:
                present[attr] = set(doc.to_array(attr).tolist()) if len(doc) else set()
            return present[attr]

        matches = []
        for requirements, matcher in self._entries:
            if all(not wanted.isdisjoint(values(attr)) for attr, wanted in requirements):
                matches.extend(matcher(doc))
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
