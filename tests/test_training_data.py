"""The shipped training set for llm-mental-health: valid labels, clean ids, no duplicates.

The data card (docs/data.md) promises these properties; the tests keep the promise true
when examples are added by hand.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from themekit.codebook import Codebook, load_codebook
from themekit.model.finetune import read_training_file

TRAIN = Path(__file__).resolve().parents[1] / "codebooks" / "llm-mental-health" / "train.jsonl"
KEYS = ["id", "text", "experience", "attitude", "themes", "flags"]
NEAR_DUPLICATE = 0.8
MIN_PER_THEME = 40


@pytest.fixture(scope="module")
def codebook() -> Codebook:
    return load_codebook("llm-mental-health")


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    with TRAIN.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_every_label_is_a_code_of_its_tier(rows, codebook):
    allowed = {tier.id: {c.id for c in codebook.leaf_codes(tier.id)} for tier in codebook.tiers}
    bad = []
    for r in rows:
        if list(r) != KEYS:
            bad.append((r.get("id"), "keys", list(r)))
            continue
        for tier in ("experience", "attitude"):
            if r[tier] not in allowed[tier]:
                bad.append((r["id"], tier, r[tier]))
        if set(r["themes"]) - allowed["themes"] or len(set(r["themes"])) != len(r["themes"]):
            bad.append((r["id"], "themes", r["themes"]))
        if set(r["flags"]) - set(codebook.detectors) or len(set(r["flags"])) != len(r["flags"]):
            bad.append((r["id"], "flags", r["flags"]))
        if not r["text"].strip():
            bad.append((r["id"], "text", "empty"))
    assert bad == []


def test_themekit_train_accepts_the_file(rows, codebook):
    assert len(read_training_file(TRAIN, codebook).examples) == len(rows)


def test_ids_are_unique_and_sequential(rows):
    assert [r["id"] for r in rows] == [f"tk-{i:04d}" for i in range(1, len(rows) + 1)]


def test_attitude_agrees_with_themes(rows, codebook):
    """The labelling conventions: neutral has no themes, positive no concern, negative no
    benefit, and mixed either both kinds or none."""
    bad = []
    for r in rows:
        kinds = {codebook.codes[t].parent for t in r["themes"]}
        ok = {"neutral": not kinds, "positive": "concern" not in kinds,
              "negative": "benefit" not in kinds, "mixed": len(kinds) in (0, 2)}[r["attitude"]]
        if not ok:
            bad.append((r["id"], r["attitude"], r["themes"]))
    assert bad == []


def test_no_exact_duplicates(rows):
    counts = Counter(re.sub(r"[^a-z0-9]", "", r["text"].lower()) for r in rows)
    assert [k for k, n in counts.items() if n > 1] == []


def test_no_near_duplicates(rows):
    """Token-set Jaccard over lowercased words, all pairs at once as a sparse product."""
    words = CountVectorizer(token_pattern=r"[a-z0-9']+", binary=True, lowercase=True)
    x = words.fit_transform(r["text"] for r in rows).astype(np.int32)
    inter = (x @ x.T).toarray()
    sizes = np.asarray(x.sum(axis=1)).ravel()
    jaccard = inter / np.maximum(sizes[:, None] + sizes[None, :] - inter, 1)
    i, j = np.nonzero(np.triu(jaccard > NEAR_DUPLICATE, k=1))
    assert [(rows[a]["id"], rows[b]["id"]) for a, b in zip(i, j)] == []


def test_every_theme_has_enough_positives(rows, codebook):
    counts = Counter(t for r in rows for t in r["themes"])
    assert {c.id: counts[c.id] for c in codebook.leaf_codes("themes")
            if counts[c.id] < MIN_PER_THEME} == {}


def shared_stretches(texts: list[str], corpus: list[str], length: int = 60) -> list[int]:
    """Indexes of `texts` sharing a `length`-character stretch with any `corpus` text.

    Every such stretch contains a corpus gram of length/3*2 characters starting at a
    multiple of length/3, so only those grams are indexed; a hit is then confirmed on
    its own corpus text.
    """
    step, gram = length // 3, length - length // 3
    index: dict[str, set[int]] = {}
    for n, doc in enumerate(corpus):
        for k in range(0, len(doc) - gram + 1, step):
            index.setdefault(doc[k:k + gram], set()).add(n)
    hits = []
    for t, text in enumerate(texts):
        windows = {text[k:k + length] for k in range(len(text) - length + 1)}
        candidates = {n for k in range(len(text) - gram + 1) for n in index.get(text[k:k + gram], ())}
        if any(w in corpus[n] for n in candidates for w in windows):
            hits.append(t)
    return hits


def test_shared_stretches_finds_a_copied_stretch_only():
    corpus = ["x" * 7 + "the quick brown fox jumps over the lazy dog and keeps on running far away"]
    copied = "intro: " + corpus[0][9:70] + " outro"
    near_miss = corpus[0][9:68]
    assert shared_stretches([near_miss, copied], corpus) == [1]


def test_no_text_copied_from_the_real_corpus(rows, shared_data):
    """No 60-character stretch of a training text occurs in the real comments."""
    with (shared_data / "comments-10k.jsonl").open(encoding="utf-8") as fh:
        corpus = [json.loads(line)["text"].lower() for line in fh]
    hits = shared_stretches([r["text"].lower() for r in rows], corpus)
    assert [rows[i]["id"] for i in hits] == []
