"""The codebook's default model: shipped in the package, coding by default, named in output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import spacy
import srsly
from click.testing import CliRunner

from themekit.cli import main
from themekit.errors import CodebookError
from themekit.codebook import load_codebook
from themekit.plugins.types import RegisteredCodebook
from themekit.model.card import CARD_FILE, model_identity, read_card
from themekit.plugins import registered_codebooks

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "codebooks" / "llm-mental-health" / "model"
TEXTS = [
    "I talk to ChatGPT every night when my anxiety gets bad, it really helps me",
    "who reads those chats though? they keep all your data",
    "what app is this",
]


@pytest.fixture(scope="module")
def default_nlp():
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": "llm-mental-health"})
    return nlp


def test_the_builtin_codebook_registers_its_shipped_model():
    registered = registered_codebooks()["llm-mental-health"]
    assert registered.model is not None and registered.model.samefile(SHIPPED)
    card = read_card(SHIPPED)
    codebook = load_codebook("llm-mental-health")
    assert card["codebook"] == codebook.ref and card["mode"] == "heads"
    assert set(card["labels"]) == {c.id for t in codebook.tiers for c in codebook.leaf_codes(t.id)}
    size = sum(p.stat().st_size for p in SHIPPED.rglob("*") if p.is_file())
    assert size <= 10 * 1024 * 1024, f"the shipped model is {size / 2**20:.1f} MB"


def test_the_shipped_model_holds_no_comment_text(tmp_path):
    """Real comments enter the project as ids and labels: the model's vocabulary is a blank
    pipeline's, never the strings spaCy saw while the comments were coded in training."""
    spacy.blank("en").to_disk(tmp_path / "blank")
    strings = srsly.read_json(SHIPPED / "vocab" / "strings.json")
    assert strings == srsly.read_json(tmp_path / "blank" / "vocab" / "strings.json")


def test_the_component_codes_with_the_default_model_unless_rules_only(default_nlp):
    doc = default_nlp(TEXTS[0])
    coding = doc._.themekit
    assert coding.model == model_identity(SHIPPED)
    assert coding.model["name"] == "llm-mental-health-heads"
    assert "model" in {why["source"] for why in coding.provenance.values()}
    rules = spacy.blank("en")
    rules.add_pipe("themekit", config={"codebook": "llm-mental-health", "rules_only": True})
    plain = rules(TEXTS[0])._.themekit
    assert plain.model is None
    assert "model" not in {why["source"] for why in plain.provenance.values()}


def test_pipe_codes_in_batches_exactly_as_one_by_one(default_nlp):
    one_by_one = [default_nlp(text)._.themekit.to_json() for text in TEXTS]
    batched = [doc._.themekit.to_json() for doc in default_nlp.pipe(TEXTS, batch_size=2)]
    for single, batch in zip(one_by_one, batched):
        assert single["codes"] == batch["codes"]
        assert single["scores"] == pytest.approx(batch["scores"], abs=1e-3)


def test_the_default_model_uses_the_thresholds_it_was_tuned_with(default_nlp):
    tuned = srsly.read_json(SHIPPED / CARD_FILE)["thresholds"]
    coding = default_nlp(TEXTS[0])._.themekit
    for code, why in coding.provenance.items():
        if why["source"] == "model":
            assert why["threshold"] == pytest.approx(tuned[code])


def test_a_saved_pipeline_loads_and_codes_with_the_model_offline(default_nlp, tmp_path):
    default_nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert loaded(TEXTS[0])._.themekit.codes == default_nlp(TEXTS[0])._.themekit.codes
    assert loaded(TEXTS[0])._.themekit.model["name"] == "llm-mental-health-heads"


def test_a_model_trained_for_another_codebook_version_is_refused(register_plugin, tmp_path):
    raw = srsly.read_yaml(REPO / "codebooks" / "llm-mental-health.yaml")
    srsly.write_yaml(tmp_path / "copy.yaml", {**raw, "name": "mh-copy"})

    class CopyPlugin:
        from themekit import hookimpl

        @hookimpl
        def register_codebooks(self, register):
            register(RegisteredCodebook("mh-copy", tmp_path / "copy.yaml", model=SHIPPED))

    register_plugin(CopyPlugin(), "copy-plugin")
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": "mh-copy"})
    with pytest.raises(CodebookError, match=r"trained for llm-mental-health@1, not mh-copy@1"):
        nlp("hello")


def test_the_identity_changes_with_the_weights_and_keeps_the_card_name(tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(SHIPPED, copy)
    before = model_identity(copy)
    assert before["name"] == "llm-mental-health-heads"  # the card's, not the folder's
    assert before == model_identity(SHIPPED)
    card = srsly.read_json(copy / CARD_FILE)
    srsly.write_json(copy / CARD_FILE, {**card, "training_seconds": 1})
    assert model_identity(copy) == before  # timings are not the model
    with open(copy / "themekit_heads" / "heads.npz", "ab") as handle:
        handle.write(b"\0")
    assert model_identity(copy)["sha256"] != before["sha256"]


def run(*args):
    return CliRunner().invoke(main, ["annotate", *map(str, args)])


def test_annotate_codes_with_the_default_model_and_says_so(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(TEXTS)))
    result = run(src, "-o", tmp_path / "model.jsonl")
    assert result.exit_code == 0, result.output
    assert "coded by model llm-mental-health-heads (sha256 " in result.output
    records = [json.loads(line) for line in (tmp_path / "model.jsonl").read_text().splitlines()]
    assert {r["themekit"]["model"]["sha256"] for r in records} == {
        model_identity(SHIPPED)["sha256"]}
    result = run(src, "-o", tmp_path / "rules.jsonl", "--rules-only")
    assert result.exit_code == 0, result.output
    assert "coded by the rules of llm-mental-health@1 alone (no model)" in result.output
    records = [json.loads(line) for line in (tmp_path / "rules.jsonl").read_text().splitlines()]
    assert all(r["themekit"]["model"] is None for r in records)


def test_quantized_coding_is_marked_int8(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": 1, "text": TEXTS[0]}) + "\n")
    result = run(src, "-o", tmp_path / "q.jsonl", "--quantize")
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "q.jsonl").read_text())
    assert record["themekit"]["model"]["int8"] is True


def test_rules_only_refuses_a_model(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": 1, "text": "hi"}) + "\n")
    result = run(src, "-o", tmp_path / "o.jsonl", "--rules-only", "--model", SHIPPED)
    assert result.exit_code == 2 and "--rules-only codes without a model; drop --model" in \
        result.output
    result = run(src, "-o", tmp_path / "o.jsonl", "--rules-only", "--quantize")
    assert result.exit_code == 2 and "drop --quantize" in result.output


def test_the_readme_shows_the_shipped_model_as_it_is():
    """The README's example output names the model's hash: retraining it updates the docs."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"(sha256 {model_identity(SHIPPED)['sha256'][:12]})" in readme
