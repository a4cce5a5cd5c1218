"""The shipped training files: real coded ids stay ids, never reserved, always valid."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from themekit.codebook import load_codebook
from themekit.model.finetune import read_training_files

from tests.conftest import REPO

FOLDER = REPO / "codebooks" / "llm-mental-health"
TRAIN_FILES = sorted(FOLDER.glob("train*.jsonl"))
REAL = FOLDER / "train-real.jsonl"
PARTS = {"part-random", "kw-privacy", "kw-oversight", "kw-generic", "kw-dependency",
         "kw-mixed", "kw-crisis", "part-uncertain", "part-uncertain-2"}


def rows(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_the_real_set_is_there_and_holds_ids_and_labels_only():
    assert REAL in TRAIN_FILES
    real = rows(REAL)
    assert len(real) >= 2000
    assert all("text" not in r for r in real)  # the authors' words stay where they were posted
    assert all(r["meta"]["drawn"] in PARTS and r["meta"]["coders"] for r in real)
    coding = [rows(p) for p in (FOLDER / "coding").glob("*.jsonl")]
    assert all("text" not in r for sheet in coding for r in sheet)


def test_every_label_is_valid_and_every_id_appears_once_in_all_training_files():
    codebook = load_codebook("llm-mental-health")
    ids = [r["id"] for path in TRAIN_FILES for r in rows(path)]
    assert len(ids) == len(set(ids))
    # stand-in texts: this checks the labels, not the join (that needs the corpus)
    files = read_training_files(TRAIN_FILES, codebook, texts={i: "text" for i in ids})
    assert sum(len(f.examples) for f in files) == len(ids)


def test_the_real_set_is_what_the_coders_sheets_give():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "build-real-training-set.py"),
                             "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    double = rows(FOLDER / "coding" / "double-a.jsonl")
    assert len(double) >= 300
    assert all(a["coder"] != b["coder"]
               for a, b in zip(double, rows(FOLDER / "coding" / "double-b.jsonl")))


def test_no_reserved_id_is_coded_or_trained_on(shared_data):
    reserved = set((shared_data / "reserved-ids.txt").read_text().split())
    gold = {r["id"] for r in rows(shared_data / "dev-gold.jsonl")}
    assert gold <= reserved
    for path in [*TRAIN_FILES, *(FOLDER / "coding").glob("*.jsonl")]:
        assert not reserved & {r["id"] for r in rows(path)}, path


def test_every_real_id_joins_its_text_from_the_corpus(shared_data):
    codebook = load_codebook("llm-mental-health")
    [real] = read_training_files([REAL], codebook, corpus=shared_data / "comments-10k.jsonl")
    assert len(real.examples) == len(rows(REAL))
    assert all(ex.text.strip() for ex in real.examples)


@pytest.mark.parametrize("path", TRAIN_FILES, ids=lambda p: p.name)
def test_training_files_ship_inside_the_package(path):
    from importlib.resources import files

    shipped = files("themekit.codebook_files") / "llm-mental-health" / path.name
    assert shipped.is_file()


def test_every_shipped_pattern_is_right_at_least_sixty_percent_of_the_time(shared_data, tmp_path):
    """The default codebook keeps a pattern only if, on the hand-coded real comments it fires
    on, the coders gave its code at least 60% of the time (a veto: withheld it); a
    pattern that no coded comment triggers has no measured precision and is not judged."""
    from themekit.codebook.lint import lint_codebook

    wanted = {r["id"] for r in rows(REAL)}
    corpus = tmp_path / "coded-texts.jsonl"  # only the coded comments: the rest add nothing
    with open(shared_data / "comments-10k.jsonl", encoding="utf-8") as src, \
            open(corpus, "w", encoding="utf-8") as out:
        out.writelines(line for line in src if json.loads(line)["id"] in wanted)
    result = lint_codebook(load_codebook("llm-mental-health"), str(corpus), coded=str(REAL),
                           snippets=0)
    measured = [p for p in result.patterns if p.precision is not None]
    assert len(measured) > 150
    weak = {p.id: f"{p.coded_right}/{p.coded_fires}" for p in measured if p.precision < 0.6}
    assert weak == {}
