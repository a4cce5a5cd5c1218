"""`themekit codebook lint`: how each keyword pattern of a codebook behaves on a real corpus.

Codebook authors write patterns blind; this runs the codebook's own pattern finder (the
built-in `patterns` evidence source, the same one `annotate` runs) over a corpus and
reports, per pattern, how many comments it fires on, a few matches in context, and what
looks wrong: patterns that never fire, fire on too much of the corpus, only ever match a
bare short token, or duplicate another pattern of the same code. With hand-coded records
it adds each pattern's precision and, per code, the hand-coded positives no pattern finds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

import srsly
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from themekit.codebook import Codebook, Pattern, find_codebook_path, load_codebook
from themekit.errors import CodebookError, InputError, SettingError
from themekit.io.records import BadRecord, Record, read_records
from themekit.io.rendered import write_rendered
from themekit.analysis.report import clean_text, excerpt
from themekit.io.sheets import SheetItem, read_sheet
from themekit.analysis.stats import percent

if TYPE_CHECKING:  # spaCy loads when a lint runs, not when the CLI starts
    from spacy.tokens import Doc, Span

CONTEXT_CHARS = 40
"""Characters of context shown either side of a match."""
SHORT_TOKEN_CHARS = 2
"""A match of one token this short ("1", "ok", "i") is almost never evidence for a code."""
PATTERN_SOURCE = "patterns"
"""The evidence source that compiles the codebook's phrases and token patterns."""
MISSED_EXAMPLES = 3


@dataclass(frozen=True)
class Snippet:
    """One match in context: `before` and `after` are about CONTEXT_CHARS characters each."""

    id: str | None
    line: int
    before: str
    match: str
    after: str

    @property
    def text(self) -> str:
        return f"{self.before}[{self.match}]{self.after}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "line": self.line, "before": self.before, "match": self.match,
                "after": self.after}


@dataclass
class PatternLint:
    """What one pattern did on the corpus (and, with hand codes, how often it was right)."""

    pattern: Pattern
    tier: str
    comments: set[int] = field(default_factory=set)
    """Positions (0-based, among the corpus's good records) of the comments it fires on."""
    matches: int = 0
    only_short: bool = True
    """Every match so far is a single token of at most SHORT_TOKEN_CHARS characters."""
    snippets: list[Snippet] = field(default_factory=list)
    coded_fires: int = 0
    coded_right: int = 0

    @property
    def id(self) -> str:
        return self.pattern.id

    @property
    def code(self) -> str:
        return self.pattern.code

    @property
    def fires(self) -> int:
        return len(self.comments)

    @property
    def veto(self) -> bool:
        return self.pattern.weight < 0

    @property
    def short_token(self) -> bool:
        return self.matches > 0 and self.only_short

    @property
    def precision(self) -> float | None:
        """Of the hand-coded comments it fires on, the share whose codes agree with it (for
        a veto: the share that does NOT have the code); None when it fires on none."""
        return self.coded_right / self.coded_fires if self.coded_fires else None

    def describe(self) -> str:
        """The pattern as a codebook author would recognise it, on one line."""
        if self.pattern.phrase is not None:
            return f'"{self.pattern.phrase}"'
        return " ".join(_describe_token(spec) for spec in self.pattern.tokens or ())


@dataclass(frozen=True)
class Overlap:
    """Two patterns of one code that fire on mostly the same comments (Jaccard index)."""

    code: str
    a: str
    b: str
    a_fires: int
    b_fires: int
    shared: int

    @property
    def jaccard(self) -> float:
        return self.shared / (self.a_fires + self.b_fires - self.shared)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "a": self.a, "b": self.b, "a_fires": self.a_fires,
                "b_fires": self.b_fires, "shared": self.shared,
                "jaccard": round(self.jaccard, 4)}


@dataclass
class CodeRecall:
    """Hand-coded positives of one code, and those where none of its patterns fires."""

    code: str
    tier: str
    positives: int = 0
    found: int = 0
    missed_examples: list[tuple[str, str]] = field(default_factory=list)

    @property
    def missed(self) -> int:
        return self.positives - self.found

    @property
    def recall(self) -> float | None:
        return self.found / self.positives if self.positives else None


@dataclass
class CodedSummary:
    """How the --coded file was used: which items counted, which could not."""

    source: str
    items: int = 0
    used: int = 0
    uncoded: int = 0
    not_in_corpus: list[str] = field(default_factory=list)
    """Ids with no text of their own that the corpus does not hold either."""


@dataclass
class LintResult:
    codebook: Codebook
    corpus: str
    broad: float
    overlap: float
    comments: int = 0
    bad: list[BadRecord] = field(default_factory=list)
    patterns: list[PatternLint] = field(default_factory=list)
    overlaps: list[Overlap] = field(default_factory=list)
    coded: CodedSummary | None = None
    recall: list[CodeRecall] = field(default_factory=list)

    def share(self, item: PatternLint) -> float:
        return item.fires / self.comments if self.comments else 0.0

    @property
    def never_firing(self) -> list[PatternLint]:
        return [p for p in self.patterns if p.fires == 0]

    @property
    def too_broad(self) -> list[PatternLint]:
        return [p for p in self.patterns if self.share(p) > self.broad]

    @property
    def short_token(self) -> list[PatternLint]:
        return [p for p in self.patterns if p.short_token]

    def issues(self, item: PatternLint) -> list[str]:
        """Short labels for what looks wrong with one pattern."""
        out = []
        if item.fires == 0:
            out.append("never fires")
        if self.share(item) > self.broad:
            out.append(f"too broad (>{percent(self.broad)})")
        if item.short_token:
            out.append("short token only")
        out += [f"overlaps {o.b if o.a == item.id else o.a}" for o in self.overlaps
                if item.id in (o.a, o.b)]
        return out

    def to_json(self) -> dict[str, Any]:
        patterns = []
        for p in self.patterns:
            entry: dict[str, Any] = {
                "id": p.id, "code": p.code, "tier": p.tier, "weight": p.pattern.weight,
                "kind": "phrase" if p.pattern.phrase is not None else "tokens",
                "pattern": p.pattern.phrase if p.pattern.phrase is not None
                else list(p.pattern.tokens or ()),
                "fires": p.fires, "share": round(self.share(p), 6), "matches": p.matches,
                "issues": self.issues(p), "snippets": [s.to_json() for s in p.snippets],
            }
            if self.coded is not None:
                entry.update(coded_fires=p.coded_fires, coded_right=p.coded_right,
                             precision=None if p.precision is None else round(p.precision, 4))
            patterns.append(entry)
        out: dict[str, Any] = {
            "codebook": self.codebook.ref, "corpus": self.corpus, "comments": self.comments,
            "rejected": len(self.bad), "broad": self.broad, "overlap": self.overlap,
            "patterns": patterns,
            "never_firing": [p.id for p in self.never_firing],
            "too_broad": [p.id for p in self.too_broad],
            "short_token": [p.id for p in self.short_token],
            "overlaps": [o.to_json() for o in self.overlaps],
        }
        if self.coded is not None:
            out["coded"] = {"source": self.coded.source, "items": self.coded.items,
                            "used": self.coded.used, "uncoded": self.coded.uncoded,
                            "not_in_corpus": self.coded.not_in_corpus}
            out["recall"] = [{"code": r.code, "tier": r.tier, "positives": r.positives,
                              "found": r.found, "missed": r.missed,
                              "recall": None if r.recall is None else round(r.recall, 4),
                              "missed_examples": [{"id": i, "text": t}
                                                  for i, t in r.missed_examples]}
                             for r in self.recall]
        return out


# --- the lint itself ----------------------------------------------------------------------


def load_lint_codebook(name_or_path: str | Path) -> Codebook:
    """`load_codebook`, with a token pattern's invalid REGEX reported as a codebook problem
    naming the code and pattern, not as a traceback from inside spaCy."""
    try:
        return load_codebook(name_or_path)
    except re.error as exc:
        path = find_codebook_path(name_or_path)
        where = _regex_owner(srsly.read_yaml(path), str(exc.pattern)) or "a token pattern"
        raise CodebookError(str(path), [f"{where}: invalid REGEX {exc.pattern!r} ({exc}); "
                                        "fix the regular expression"]) from exc


def lint_codebook(
    codebook: Codebook,
    corpus: str,
    *,
    coded: str | None = None,
    broad: float = 0.05,
    overlap: float = 0.8,
    snippets: int = 3,
    text_field: str = "text",
    id_field: str = "id",
    fmt: str | None = None,
    on_record: Callable[[], None] | None = None,
) -> LintResult:
    """Run every pattern of `codebook` over `corpus` (JSONL/CSV) and collect what each does.

    `broad`: a pattern firing on more than this share of the corpus is too broad.
    `overlap`: two patterns of one code whose comments have a Jaccard index of at least
    this overlap. `coded`: a sheet or gold file of hand codes, read with `read_sheet`;
    items without a text of their own take it from the corpus by id.
    """
    import spacy

    from themekit.nlp.matching import shared_columns
    from themekit.plugins import registered_evidence_sources

    for setting, share in (("broad", broad), ("overlap", overlap)):
        if not 0 < share <= 1:
            raise SettingError(setting, f"must be a share in (0, 1], got {share}")
    nlp = spacy.blank("en")
    finder = registered_evidence_sources()[PATTERN_SOURCE].build(nlp, codebook)

    def fired(doc: Doc) -> dict[str, list[Span]]:
        """The matches in `doc`, by pattern id, in text order."""
        with shared_columns(doc):
            spans = list(finder(doc))
        out: dict[str, list[Span]] = {}
        for span in sorted(spans, key=lambda s: (s.start, s.end)):
            out.setdefault(span.id_, []).append(span)
        return out

    result = LintResult(codebook, corpus, broad, overlap)
    by_id = {p.id: PatternLint(p, codebook.codes[p.code].tier) for p in codebook.patterns()}
    result.patterns = list(by_id.values())
    hand = _hand_items(coded, codebook, result) if coded else []
    wanted = {item.id for item in hand if not _has_text(item)}
    joined: dict[str, tuple[str, frozenset[str]]] = {}
    tick = on_record or (lambda: None)

    def good_records() -> Iterator[tuple[str, Record]]:
        for record in read_records(corpus, text_field, fmt, id_field, max_length=nlp.max_length):
            if isinstance(record, BadRecord):
                result.bad.append(record)
                tick()
                continue
            yield record.text, record

    for doc, record in nlp.pipe(good_records(), as_tuples=True, batch_size=256):
        position = result.comments
        result.comments += 1
        found = fired(doc)
        record_id = record.data.get(id_field)
        record_id = None if record_id is None else str(record_id)
        for pattern_id, spans in found.items():
            if pattern_id in by_id:
                _count(by_id[pattern_id], position, doc.text, spans, record_id, record.line,
                       snippets)
        if record_id in wanted and record_id not in joined:
            joined[record_id] = (doc.text, frozenset(found))
        tick()
    if result.comments == 0:
        first = f"; the first: {result.bad[0].describe()}" if result.bad else ""
        raise InputError(f"{corpus}: no comment could be read ({len(result.bad)} rejected"
                         f"{first})")
    result.overlaps = _overlaps(result.patterns, overlap)
    if coded:
        own = [item for item in hand if _has_text(item)]
        texts = {item.id: (doc.text, frozenset(fired(doc)))
                 for doc, item in nlp.pipe(((item.text, item) for item in own), as_tuples=True)}
        _score_hand_codes(result, hand, {**joined, **texts}, by_id)
    return result


def _count(item: PatternLint, position: int, text: str, spans: list[Span],
           record_id: str | None, line: int, keep: int) -> None:
    item.comments.add(position)
    item.matches += len(spans)
    if item.only_short and any(len(s) != 1 or len(s.text) > SHORT_TOKEN_CHARS for s in spans):
        item.only_short = False
    if len(item.snippets) < keep:
        item.snippets.append(snippet(text, spans[0].start_char, spans[0].end_char,
                                     record_id, line))


def snippet(text: str, start: int, end: int, record_id: str | None = None,
            line: int = 0, context: int = CONTEXT_CHARS) -> Snippet:
    """The match text[start:end] with about `context` characters either side, on one line."""
    def flat(part: str) -> str:
        return " ".join(clean_text(part).split())

    left, right = max(0, start - context), min(len(text), end + context)
    before = ("…" if left else "") + flat(text[left:start]).lstrip()
    after = flat(text[end:right]).rstrip() + ("…" if right < len(text) else "")
    # the spaces beside the match, which `flat` folds away at the edges, stay readable
    if start > left and text[start - 1].isspace():
        before += " "
    if end < right and text[end].isspace():
        after = " " + after.lstrip()
    return Snippet(record_id, line, before, flat(text[start:end]), after)


def _overlaps(patterns: list[PatternLint], threshold: float) -> list[Overlap]:
    """Pairs of patterns of one code whose comments overlap by a Jaccard index >= threshold."""
    by_code: dict[str, list[PatternLint]] = {}
    for item in patterns:
        if item.fires:
            by_code.setdefault(item.code, []).append(item)
    out = []
    for code, items in by_code.items():
        for a, b in combinations(items, 2):
            shared = len(a.comments & b.comments)
            pair = Overlap(code, a.id, b.id, a.fires, b.fires, shared)
            if shared and pair.jaccard >= threshold:
                out.append(pair)
    return out


def _has_text(item: SheetItem) -> bool:
    """A sheet's own text counts when it holds something (an empty CSV cell is no text)."""
    return isinstance(item.text, str) and bool(item.text.strip())


def _hand_items(path: str, codebook: Codebook, result: LintResult) -> list[SheetItem]:
    """The coded items of a sheet or gold file. An item counts when every exclusive tier
    has a code; for a codebook without exclusive tiers, when a coder is named or the file
    names none (a gold file)."""
    items = read_sheet(path, codebook)
    result.coded = CodedSummary(source=path, items=len(items))
    exclusive = any(t.kind == "exclusive" for t in codebook.tiers)
    kept = []
    for item in items:
        if item.is_coded(codebook) or (not exclusive and "coder" not in item.data):
            kept.append(item)
        else:
            result.coded.uncoded += 1
    if not kept:
        raise InputError(f"{path}: none of its {len(items)} items is coded (each needs a code "
                         "in every exclusive tier); code some with `themekit code` first")
    return kept


def _hand_codes(item: SheetItem, codebook: Codebook) -> set[str]:
    codes: list[str] = []
    for value in item.codes.values():
        codes += [value] if isinstance(value, str) else list(value or ())
    return codebook.with_ancestors(codes)


def _score_hand_codes(result: LintResult, hand: list[SheetItem],
                      fired: dict[str, tuple[str, frozenset[str]]],
                      by_id: dict[str, PatternLint]) -> None:
    """Precision per pattern and recall misses per code, over the hand-coded comments."""
    book = result.codebook
    positive: dict[str, set[str]] = {}
    for item in by_id.values():
        if not item.veto:
            positive.setdefault(item.code, set()).add(item.id)
    recall = {code: CodeRecall(code, book.codes[code].tier) for code in book.codes
              if code in positive}
    assert result.coded is not None
    for item in hand:
        if item.id not in fired:
            result.coded.not_in_corpus.append(item.id)
            continue
        result.coded.used += 1
        text, patterns = fired[item.id]
        codes = _hand_codes(item, book)
        for pattern_id in patterns & by_id.keys():
            stats = by_id[pattern_id]
            stats.coded_fires += 1
            stats.coded_right += (stats.code in codes) != stats.veto
        for code, entry in recall.items():
            if code not in codes:
                continue
            entry.positives += 1
            if patterns & positive[code]:
                entry.found += 1
            elif len(entry.missed_examples) < MISSED_EXAMPLES:
                entry.missed_examples.append((item.id, excerpt(text, 100)))
    result.recall = sorted(recall.values(), key=lambda r: -r.missed)


def _regex_owner(data: Any, regex: str) -> str | None:
    """Which code and pattern of raw codebook YAML hold `regex` as a REGEX value."""
    def holds(value: Any) -> bool:
        if isinstance(value, dict):
            return value.get("REGEX") == regex or any(holds(v) for v in value.values())
        return isinstance(value, list) and any(holds(v) for v in value)

    tiers = data.get("tiers") if isinstance(data, dict) else None
    for tier in tiers if isinstance(tiers, list) else []:
        codes = tier.get("codes") if isinstance(tier, dict) else None
        for code in codes if isinstance(codes, list) else []:
            if not isinstance(code, dict) or not isinstance(code.get("patterns"), list):
                continue
            for index, pattern in enumerate(code["patterns"]):
                if isinstance(pattern, dict) and holds(pattern.get("tokens")):
                    name = pattern.get("id", f"{code.get('id')}.{index + 1}")
                    return f"code '{code.get('id')}' pattern '{name}'"
    return None


def _describe_token(spec: dict[str, Any]) -> str:
    """One token pattern in brief: `[talk|vent|chat|…]{,3}`, `to`, `LENGTH=1`, `{}`."""
    parts = []
    for key, value in spec.items():
        if key == "OP":
            continue
        if isinstance(value, dict) and set(value) == {"IN"} and isinstance(value["IN"], list):
            shown = [str(v) for v in value["IN"][:4]]
            text = "[" + "|".join(shown) + ("|…" if len(value["IN"]) > 4 else "") + "]"
        elif isinstance(value, (str, int, float, bool)):
            text = str(value)
        else:
            text = json.dumps(value, ensure_ascii=False)
        parts.append(text if key in ("LOWER", "ORTH", "TEXT") else f"{key}={text}")
    return (" ".join(parts) or "{}") + str(spec.get("OP", ""))


# --- output ------------------------------------------------------------------------------


def _precision_cell(item: PatternLint) -> str:
    if item.precision is None:
        return "–"
    return f"{percent(item.precision)} ({item.coded_right}/{item.coded_fires})"


def _summary(result: LintResult) -> str:
    lines = [f"{result.codebook.ref} on {result.corpus}: {result.comments} comments"
             + (f" ({len(result.bad)} rejected)" if result.bad else "")
             + f", {len(result.patterns)} patterns",
             f"never fire {len(result.never_firing)} · too broad (>{percent(result.broad)}) "
             f"{len(result.too_broad)} · short token only {len(result.short_token)} · "
             f"overlapping pairs (Jaccard >= {result.overlap:g}) {len(result.overlaps)}"]
    if result.coded is not None:
        c = result.coded
        lines.append(f"hand codes from {c.source}: {c.used} comments used of {c.items}"
                     + (f", {c.uncoded} not coded" if c.uncoded else "")
                     + (f", {len(c.not_in_corpus)} ids neither in the corpus nor with a text"
                        if c.not_in_corpus else ""))
    return "\n".join(lines)


def _rows(result: LintResult) -> tuple[list[str], list[list[str]]]:
    """The patterns table: one row per pattern, in codebook order."""
    columns = ["code", "pattern", "weight", "comments", "share"]
    if result.coded is not None:
        columns.append("precision")
    columns.append("issues")
    rows = []
    for item in result.patterns:
        row = [item.code, f"{item.id}: {excerpt(item.describe(), 70)}",
               f"{item.pattern.weight:g}", str(item.fires), percent(result.share(item))]
        if result.coded is not None:
            row.append(_precision_cell(item))
        row.append(", ".join(result.issues(item)))
        rows.append(row)
    return columns, rows


NUMERIC = {"weight", "comments", "share", "shared", "Jaccard", "coded", "found", "missed",
           "recall"}
OVERLAP_COLUMNS = ["code", "pattern", "pattern", "comments", "shared", "Jaccard"]
RECALL_COLUMNS = ["code", "coded", "found", "missed", "recall", "missed, e.g."]


def render_rich(result: LintResult) -> RenderableType:
    """The lint as rich tables for the terminal."""
    parts: list[RenderableType] = [Text(_summary(result), style="bold")]
    columns, rows = _rows(result)
    table = Table(title="Patterns, by code", title_justify="left")
    for name in columns[1:]:  # the code heads each group of rows instead of a column
        table.add_column(name, justify="right" if name in NUMERIC else "left", overflow="fold",
                         ratio={"pattern": 3, "issues": 2}.get(name))
    last_code = None
    for item, row in zip(result.patterns, rows):
        if item.code != last_code:
            if last_code is not None:
                table.add_section()
            table.add_row(Text(f"{item.code} ({item.tier})", style="bold cyan"))
            last_code = item.code
        table.add_row(Text.assemble((item.id, "bold"), "\n",
                                    (excerpt(item.describe(), 70), "dim")),
                      *(Text(c) for c in row[2:-1]), Text(row[-1], style="yellow"))
    parts.append(table)
    if result.overlaps:
        overlaps = _table("Overlapping patterns", OVERLAP_COLUMNS)
        for row in _overlap_rows(result):
            overlaps.add_row(*row)
        parts.append(overlaps)
    snippets = _table("Matches in context", ["pattern", "id", "in context"])
    for item in result.patterns:
        for s in item.snippets:
            snippets.add_row(item.id, s.id or f"line {s.line}",
                             Text.assemble(s.before, (f"[{s.match}]", "bold magenta"), s.after))
    if snippets.row_count:
        parts.append(snippets)
    if result.coded is not None:
        parts.append(_recall_table(result))
        if result.coded.not_in_corpus:
            parts.append(Text(_not_in_corpus_note(result.coded), style="yellow"))
    return Group(*parts)


def _table(title: str, columns: list[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(name, justify="right" if name in NUMERIC else "left", overflow="fold",
                         ratio=3 if name in ("in context", "missed, e.g.") else None)
    return table


def _overlap_rows(result: LintResult) -> list[list[str]]:
    return [[o.code, o.a, o.b, f"{o.a_fires} / {o.b_fires}", str(o.shared), f"{o.jaccard:.2f}"]
            for o in result.overlaps]


def _recall_rows(result: LintResult) -> list[list[str]]:
    return [[r.code, str(r.positives), str(r.found), str(r.missed), percent(r.recall),
             "; ".join(f"{i}: {t}" for i, t in r.missed_examples[:1])] for r in result.recall]


def _recall_table(result: LintResult) -> Table:
    table = _table("Recall misses: hand-coded comments no pattern of the code fires on",
                   RECALL_COLUMNS)
    for row in _recall_rows(result):
        table.add_row(*(Text(c) for c in row))
    return table


def _not_in_corpus_note(coded: CodedSummary) -> str:
    shown = ", ".join(coded.not_in_corpus[:5]) + (" …" if len(coded.not_in_corpus) > 5 else "")
    return (f"{len(coded.not_in_corpus)} id(s) of {coded.source} have no text and are not in "
            f"the corpus, left out: {shown}")


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")


def _md_table(columns: list[str], rows: Iterable[list[str]]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |",
           "|" + "|".join("---:" if c in NUMERIC else "---" for c in columns) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out + [""]


def render_markdown(result: LintResult) -> str:
    """The lint as GitHub-flavoured Markdown."""
    out = [f"# Pattern lint: {result.codebook.ref}", ""]
    out += [line + "  " for line in _summary(result).splitlines()] + [""]
    columns, rows = _rows(result)
    out += ["## Patterns", ""]
    out += _md_table(columns, ([_md(c) for c in row] for row in rows))
    if result.overlaps:
        out += ["## Overlapping patterns", ""]
        out += _md_table(OVERLAP_COLUMNS, _overlap_rows(result))
    snippet_rows = [[_md(item.id), _md(s.id or f"line {s.line}"),
                     _md(s.before.replace("*", "\\*")) + "**" + _md(s.match.replace("*", "\\*"))
                     + "**" + _md(s.after.replace("*", "\\*"))]
                    for item in result.patterns for s in item.snippets]
    if snippet_rows:
        out += ["## Matches in context", ""]
        out += _md_table(["pattern", "id", "in context"], snippet_rows)
    if result.coded is not None:
        out += ["## Recall misses", "",
                "Hand-coded comments of each code on which no pattern of the code fires, "
                "the codes missed most first.", ""]
        out += _md_table(RECALL_COLUMNS, ([_md(c) for c in row] for row in _recall_rows(result)))
        if result.coded.not_in_corpus:
            out += [_md(_not_in_corpus_note(result.coded)), ""]
    return "\n".join(out)


def write_lint(result: LintResult, fmt: str, output: str, console: Console) -> None:
    """Print the lint to `console` (output '-') or write it to `output` in `fmt`."""
    write_rendered(fmt, output, console, as_table=lambda: render_rich(result),
                   as_json=result.to_json, as_markdown=lambda: render_markdown(result))
