"""`themekit train`: data validation, thresholds, combine override, and a real tiny model.

The end-to-end tests train the real base model (offline) for a few steps on hand-written
examples; they take about a minute on two CPU cores and share one trained model.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest
import spacy
import srsly
import torch
from click.testing import CliRunner

from themekit.cli import main
from themekit.codebook import load_codebook, parse_codebook
from themekit.nlp.component import ThemekitComponent
from themekit.errors import InputError, SettingError
from themekit.model.card import CARD_FILE, read_card
from themekit.nlp.pipeline import build_pipeline
from themekit.model.finetune import (
    save_model,
    coverage_warnings,
    decide,
    leaf_labels,
    read_training_file,
    read_training_files,
    split_dev,
    tune_thresholds,
)
from tests.test_codebook import MINIMAL

# text, experience, attitude, themes: written for this test, not taken from any corpus
EXAMPLES = [
    ("I talk to ChatGPT every night when my anxiety gets bad", "personal_use", "positive",
     ["emotional_support"]),
    ("my replika is there at 3am when nobody else is", "personal_use", "positive",
     ["accessibility"]),
    ("it taught me a breathing exercise that actually works", "personal_use", "positive",
     ["therapeutic_value"]),
    ("I vent to the bot and feel heard for once", "personal_use", "positive",
     ["emotional_support"]),
    ("cheaper than therapy and no waiting list, I use it daily", "personal_use", "positive",
     ["accessibility"]),
    ("tried it twice and it kept giving me the same canned answer", "personal_use", "negative",
     ["generic_responses"]),
    ("I told it everything and now I worry who reads my chats", "personal_use", "negative",
     ["privacy"]),
    ("I can't stop talking to my AI, I skip seeing friends now", "personal_use", "negative",
     ["dependency"]),
    ("the app helped me reframe my thoughts but it forgets everything", "personal_use",
     "mixed", ["therapeutic_value", "generic_responses"]),
    ("I use woebot when I feel low, it calms me down", "personal_use", "positive",
     ["emotional_support"]),
    ("it always says seek professional help, useless when I'm spiraling", "personal_use",
     "negative", ["generic_responses"]),
    ("I chat with it after panic attacks and it gets me through", "personal_use", "positive",
     ["therapeutic_value"]),
    ("a chatbot is not a therapist, nobody is accountable", "no_personal_use", "negative",
     ["lack_of_oversight"]),
    ("these companies sell your data, never tell a bot your secrets", "no_personal_use",
     "negative", ["privacy"]),
    ("people getting attached to AI girlfriends is scary", "no_personal_use", "negative",
     ["dependency"]),
    ("which version of the app is this?", "no_personal_use", "neutral", []),
    ("lol the avatar has my haircut", "no_personal_use", "neutral", []),
    ("I use ChatGPT for coding homework only", "no_personal_use", "neutral", []),
    ("my sister uses it and says it helps her", "no_personal_use", "positive",
     ["emotional_support"]),
    ("I should try this sometime", "no_personal_use", "neutral", []),
    ("great for people who can't afford therapy", "no_personal_use", "positive",
     ["accessibility"]),
    ("bad advice from a bot could really hurt someone in crisis", "no_personal_use",
     "negative", ["lack_of_oversight"]),
    ("the login keeps failing after the update", "no_personal_use", "neutral", []),
    ("does anyone know if it works offline", "no_personal_use", "neutral", []),
    ("cool video, what song is that", "no_personal_use", "neutral", []),
    ("AI support can be useful but it should never replace a real therapist",
     "no_personal_use", "mixed", ["lack_of_oversight"]),
    ("subscription price went up again", "no_personal_use", "neutral", []),
    ("my friend says it gave her coping skills", "no_personal_use", "positive",
     ["therapeutic_value"]),
    ("I wrote the script for this skit in ten minutes", "no_personal_use", "neutral", []),
    ("imagine trusting a company with your trauma", "no_personal_use", "negative",
     ["privacy"]),
]


def write_examples(path, rows=EXAMPLES):
    with open(path, "w", encoding="utf-8") as handle:
        for i, (text, experience, attitude, themes) in enumerate(rows):
            handle.write(json.dumps({"id": f"t{i}", "text": text, "experience": experience,
                                     "attitude": attitude, "themes": themes,
                                     "flags": []}) + "\n")
    return path


@pytest.fixture(scope="module")
def codebook():
    return load_codebook("llm-mental-health")


# ---------------------------------------------------------------- validation


def test_valid_file_reads_leaf_codes_and_drops_written_parents(tmp_path, codebook):
    path = write_examples(tmp_path / "train.jsonl")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"text": "free and there at night", "experience":
                                 "no_personal_use", "attitude": "positive",
                                 "themes": ["benefit", "accessibility"]}) + "\n")
    data = read_training_file(path, codebook)
    assert len(data.examples) == len(EXAMPLES) + 1
    last = data.examples[-1]
    assert last.line == len(EXAMPLES) + 1
    assert last.codes == {"experience": ("no_personal_use",), "attitude": ("positive",),
                          "themes": ("accessibility",)}
    cats = last.cats(leaf_labels(codebook))
    assert cats["accessibility"] == 1.0 and cats["no_personal_use"] == 1.0
    assert sum(cats.values()) == 3 and "benefit" not in cats


def test_every_problem_is_reported_with_file_line_and_field(tmp_path, codebook):
    good = {"text": "ok", "experience": "no_personal_use", "attitude": "neutral", "themes": []}
    lines = [
        json.dumps({**good, "themes": ["privcy"]}),
        json.dumps({**good, "experience": ["personal_use", "no_personal_use"]}),
        json.dumps({k: v for k, v in good.items() if k != "text"}),
        json.dumps({**good, "text": "   "}),
        json.dumps({**good, "theme": []}),
        json.dumps({**good, "themes": ["concern"]}),
        json.dumps({**good, "attitude": "privacy"}),
        json.dumps({k: v for k, v in good.items() if k != "themes"}),
        "{not json",
        json.dumps({**good, "id": "a"}),
        json.dumps({**good, "id": "a"}),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_training_file(path, codebook)
    message = str(caught.value)
    assert f"{path}: 10 problem(s) in training data; nothing was trained" in message
    expected = [
        "line 1, field 'themes': unknown code 'privcy' (codes of tier 'themes':",
        "line 2, field 'experience': 2 codes (personal_use, no_personal_use) in exclusive tier",
        "line 3, field 'text': missing",
        "line 4, field 'text': empty text",
        "line 5, field 'theme': unknown field",
        "line 6, field 'themes': parent code 'concern' without any of its children",
        "line 7, field 'attitude': 'privacy' is a code of tier 'themes', not 'attitude'",
        "line 8, field 'themes': missing; give a list of codes, [] for none",
        "line 9: invalid JSON",
        "line 11, field 'id': duplicate id 'a' (first on line 10)",
    ]
    for fragment in expected:
        assert fragment in message, fragment


def write_ids_only(path, rows):
    """Real comments ship as ids and labels: the training lines hold no text."""
    with open(path, "w", encoding="utf-8") as handle:
        for record_id, experience in rows:
            handle.write(json.dumps({"id": record_id, "experience": experience,
                                     "attitude": "neutral", "themes": [], "flags": []}) + "\n")
    return path


def test_lines_without_text_are_joined_by_id_with_the_corpus(tmp_path, codebook):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": i, "text": f"text of {i}", "source": "x"}) + "\n"
                              for i in ("r1", "r2", "r3")), encoding="utf-8")
    real = write_ids_only(tmp_path / "real.jsonl", [("r3", "personal_use"),
                                                     ("r1", "no_personal_use")])
    invented = write_examples(tmp_path / "invented.jsonl", EXAMPLES[:2])
    files = read_training_files([invented, real], codebook, corpus=corpus)
    assert [len(f.examples) for f in files] == [2, 2]
    joined = files[1].examples
    assert [(ex.id, ex.text, ex.codes["experience"]) for ex in joined] == [
        ("r3", "text of r3", ("personal_use",)), ("r1", "text of r1", ("no_personal_use",))]
    assert files[0].examples[0].text == EXAMPLES[0][0]  # a line's own text is kept


def test_join_errors_name_the_file_line_and_id(tmp_path, codebook):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "r1", "text": "here"}) + "\n", encoding="utf-8")
    real = write_ids_only(tmp_path / "real.jsonl", [("r1", "personal_use"),
                                                     ("gone", "personal_use")])
    with pytest.raises(InputError) as caught:
        read_training_files([real], codebook, corpus=corpus)
    assert (f"{real}, line 2, field 'id': 'gone' has no text here and is not in corpus "
            f"{corpus}") in str(caught.value)
    with pytest.raises(InputError, match=r"line 1, field 'text': missing; give the text, or a "
                       r"corpus to join id 'r1' with"):
        read_training_files([real], codebook)
    twice = write_ids_only(tmp_path / "again.jsonl", [("r1", "no_personal_use")])
    with pytest.raises(InputError, match=r"again.jsonl, line 1, field 'id': duplicate id 'r1' "
                       r"\(first on .*real.jsonl, line 1\)"):
        read_training_files([real, twice], codebook, corpus=corpus)


def test_cli_trains_from_several_files_and_refuses_a_missing_text(tmp_path):
    real = write_ids_only(tmp_path / "real.jsonl", [("r1", "personal_use")])
    result = CliRunner().invoke(main, ["train", str(write_examples(tmp_path / "t.jsonl")),
                                       str(real), "-o", str(tmp_path / "m")])
    assert result.exit_code == 1
    assert "2 training files: 1 problem(s) in training data; nothing was trained" in result.output
    assert "field 'text': missing; give the text, or a corpus to join id 'r1' with (--texts)" \
        in result.output
    assert not (tmp_path / "m").exists()


def test_codes_without_positive_examples_are_warnings(codebook, tmp_path):
    data = read_training_file(write_examples(tmp_path / "t.jsonl", EXAMPLES[:3]), codebook)
    warnings = coverage_warnings(codebook, data.examples, "t.jsonl")
    assert any("code 'privacy' has no positive example in t.jsonl" in w for w in warnings)
    assert not any("'personal_use'" in w or "'emotional_support'" in w for w in warnings)


def test_split_is_seeded_and_stratified(codebook, tmp_path):
    data = read_training_file(write_examples(tmp_path / "t.jsonl"), codebook)
    first = split_dev(data.examples, codebook, 0.2, seed=3)
    again = split_dev(data.examples, codebook, 0.2, seed=3)
    other = split_dev(data.examples, codebook, 0.2, seed=4)
    ids = lambda split: [ex.id for ex in split[1]]  # noqa: E731
    assert ids(first) == ids(again) and ids(first) != ids(other)
    assert len(first[1]) == 6 and len(first[0]) == 24
    assert {ex.codes["experience"][0] for ex in first[1]} == {"personal_use", "no_personal_use"}
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_dev(data.examples, codebook, 1.5, seed=0)


# ---------------------------------------------------------------- thresholds and decisions


def test_multi_tier_threshold_separates_the_dev_scores(codebook):
    gold, scores = [], []
    for i in range(40):
        positive = i % 4 == 0
        gold.append({"experience": ("no_personal_use",), "attitude": ("neutral",),
                     "themes": ("privacy",) if positive else ()})
        scores.append({"privacy": 0.35 + (0.1 if positive else 0.0) + (i % 3) * 0.01,
                       "no_personal_use": 0.9, "neutral": 0.9})
    thresholds = tune_thresholds(codebook, scores, gold)
    assert 0.37 < thresholds["privacy"] <= 0.45
    assert thresholds["dependency"] == 0.5  # no positive dev example: nothing to tune
    predicted = [decide(codebook, s, thresholds)["themes"] for s in scores]
    assert predicted == [g["themes"] for g in gold]


def test_exclusive_offsets_recover_a_biased_minority_class(codebook):
    gold, scores = [], []
    for i in range(30):
        mixed = i % 5 == 0
        gold.append({"experience": ("no_personal_use",),
                     "attitude": ("mixed",) if mixed else ("neutral",), "themes": ()})
        scores.append({"no_personal_use": 0.8, "mixed": 0.45 if mixed else 0.2,
                       "neutral": 0.55 if mixed else 0.7})
    before = [decide(codebook, s, {})["attitude"] for s in scores]
    assert ("mixed",) not in before
    thresholds = tune_thresholds(codebook, scores, gold)
    after = [decide(codebook, s, thresholds)["attitude"] for s in scores]
    assert after == [g["attitude"] for g in gold]


def test_decide_agrees_with_the_component_under_model_policy():
    """The tuning shortcut must make the same choices as the real tier resolver."""
    book = parse_codebook({**MINIMAL, "rules": []}).with_combine("model")
    nlp = spacy.blank("en")
    component = ThemekitComponent(nlp, "themekit", book, {})
    rng = random.Random(0)
    labels = leaf_labels(book)
    checked = set()
    for _ in range(200):
        scores = {label: round(rng.random(), 3) for label in labels}
        thresholds = {label: round(rng.uniform(0.1, 0.9), 2) for label in labels}
        component.thresholds = thresholds
        doc = nlp.make_doc("no evidence here")
        doc.cats = dict(scores)
        codes = component(doc)._.themekit.codes
        mine = decide(book, scores, thresholds)
        assert codes["use"] == mine["use"][0]
        assert [c for c in codes["topics"] if c != "good"] == list(mine["topics"])
        checked.add(mine["topics"])
    assert ("cheap", "after_use") in checked and () in checked  # requires and empty both seen


def test_with_combine_overrides_every_code_and_rejects_unknown(codebook):
    model_only = codebook.with_combine("model")
    assert {model_only.combine_policy(c) for c in codebook.codes} == {"model"}
    with pytest.raises(SettingError, match="combine: must be one of"):
        codebook.with_combine("vote")


def test_annotate_combine_and_quantize_need_sensible_input(tmp_path):
    comments = tmp_path / "c.jsonl"
    comments.write_text(json.dumps({"id": "1", "text": "it is free and there 24/7"}) + "\n")
    runner = CliRunner()
    out = tmp_path / "out.jsonl"
    result = runner.invoke(main, ["annotate", str(comments), "-o", str(out), "--combine", "rules"])
    assert result.exit_code == 0, result.output
    coding = json.loads(out.read_text())["themekit"]
    assert "accessibility" in coding["codes"]["themes"]
    assert coding["provenance"]["accessibility"]["source"] == "pattern"
    bare = tmp_path / "bare.yaml"  # a codebook without a default model
    srsly.write_yaml(bare, MINIMAL)
    result = runner.invoke(main, ["annotate", str(comments), "-o", str(out), "--quantize",
                                  "-c", str(bare)])
    assert result.exit_code == 2  # a bad option, as click reports them
    assert "Invalid value for '--quantize': needs a model: codebook" in result.output


def test_cli_rejects_malformed_training_data_before_training(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"text": "hi", "experience": "sometimes", "attitude": "neutral",
                                "themes": []}) + "\n", encoding="utf-8")
    model_dir = tmp_path / "model"
    result = CliRunner().invoke(main, ["train", str(path), "-o", str(model_dir)])
    assert result.exit_code == 1
    assert "error:" in result.output
    assert f"{path}, line 1, field 'experience': unknown code 'sometimes'" in result.output
    assert not model_dir.exists()


def test_train_refuses_a_folder_that_is_not_a_model_before_training(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "thesis.docx").write_text("months of work")
    result = CliRunner().invoke(main, ["train", str(write_examples(tmp_path / "t.jsonl")),
                                       "-o", str(folder)])
    assert result.exit_code == 2
    assert "Invalid value for '--output' / '-o'" in result.output
    assert "a folder of other files, not a themekit model" in result.output
    assert [p.name for p in folder.iterdir()] == ["thesis.docx"]


def test_train_checks_where_the_model_goes_before_training(tmp_path, monkeypatch):
    model = tmp_path / "model"
    model.mkdir()
    (model / CARD_FILE).write_text("{}")
    data = write_examples(model / "train.jsonl")
    (tmp_path / "a-file").write_text("")
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")
    for out, said in [(model, f"holds {data}"),
                      (tmp_path / "a-file" / "model", "is a file"),
                      (tmp_path / "empty", "holds the current folder")]:
        result = CliRunner().invoke(main, ["train", str(data), "-o", str(out)])
        assert result.exit_code == 2, out
        assert said in result.output, result.output
    assert data.is_file()


def test_a_symlinked_output_folder_gets_the_model_and_stays_a_link(tmp_path):
    real, link = tmp_path / "real", tmp_path / "link"
    real.mkdir()
    link.symlink_to(real)
    save_model(spacy.blank("en"), {"seed": 3}, Path(os.path.realpath(link)))
    assert link.is_symlink()
    assert srsly.read_json(real / CARD_FILE) == {"name": "real", "seed": 3}  # named by folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


def test_an_interrupted_save_keeps_the_earlier_model(tmp_path, monkeypatch):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / CARD_FILE).write_text('{"seed": 1}')

    def interrupted(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr("themekit.model.finetune.write_card", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_model(spacy.blank("en"), {"seed": 2}, model_dir)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert [p.name for p in model_dir.iterdir()] == [CARD_FILE]
    assert srsly.read_json(model_dir / CARD_FILE) == {"seed": 1}


# ---------------------------------------------------------------- end to end, real model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny model: 24 train / 6 dev examples, 2 epochs of batch 8, 32 wordpieces."""
    root = tmp_path_factory.mktemp("train")
    data = write_examples(root / "train.jsonl")
    model_dir = root / "model"
    args = ["train", str(data), "-o", str(model_dir), "--mode", "finetune", "--epochs", "2",
            "--batch-size", "8", "--max-length", "32", "--seed", "1", "--learn-rate", "5e-4"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return model_dir, result.output, args


def test_trained_model_loads_with_spacy_and_carries_thresholds(trained):
    model_dir, output, _ = trained
    assert "epoch  2/2" in output and "dev macro-F1" in output
    nlp = spacy.load(model_dir)
    assert nlp.pipe_names == ["transformer", "textcat_multilabel", "themekit"]
    card = read_card(model_dir)
    assert nlp.get_pipe("themekit").thresholds == card["thresholds"]
    assert set(card["thresholds"]) == set(card["labels"]) == set(
        leaf_labels(load_codebook("llm-mental-health")))
    assert card["codebook"] == "llm-mental-health@1"
    [train_file] = card["train"]
    assert train_file["rows"] == len(EXAMPLES) and len(train_file["sha256"]) == 64
    assert card["examples"] == {"train": 24, "dev": 6}
    assert card["seed"] == 1 and card["epochs"] == 2 and card["best_epoch"] in (1, 2)
    assert card["base_model"]["name"] == "nreimers/MiniLM-L6-H384-uncased"
    assert set(card["dev_metrics"]["by_combine_policy_crossfit"]) == {"rules", "model", "either",
                                                             "model_unless_veto"}
    assert card["versions"]["spacy"] == spacy.__version__
    spacy.blank("en").vocab.to_disk(model_dir.parent / "blank-vocab")
    assert srsly.read_json(model_dir / "vocab" / "strings.json") == srsly.read_json(
        model_dir.parent / "blank-vocab" / "strings.json")  # no word of the training texts
    doc = nlp("I talk to my replika every night when I feel lonely")
    coding = doc._.themekit
    assert coding.codes["experience"] in ("personal_use", "no_personal_use")
    assert set(doc.cats) >= set(card["labels"])


def test_annotate_with_model_reports_the_deciding_source(trained, tmp_path):
    model_dir, _, _ = trained
    comments = tmp_path / "c.jsonl"
    comments.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in
                                enumerate(["it is free and there 24/7", "which app is this?"])))
    runner = CliRunner()
    sources = {}
    for policy in ("model", "rules", None):
        out = tmp_path / f"{policy}.jsonl"
        extra = ["--combine", policy] if policy else []
        result = runner.invoke(main, ["annotate", str(comments), "-o", str(out), "--model",
                                      str(model_dir), *extra])
        assert result.exit_code == 0, result.output
        records = [json.loads(line) for line in out.read_text().splitlines()]
        sources[policy] = {s["source"] for r in records
                           for s in r["themekit"]["provenance"].values()}
    assert "pattern" not in sources["model"] and "model" in sources["model"]
    assert "model" not in sources["rules"] and "pattern" in sources["rules"]
    assert sources[None] <= {"model", "pattern", "default", "rollup", "rule", "veto"}
    out = tmp_path / "q.jsonl"
    result = runner.invoke(main, ["annotate", str(comments), "-o", str(out), "--model",
                                  str(model_dir), "--quantize"])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 2
    nlp = build_pipeline(load_codebook("llm-mental-health"), model_dir, quantize=True)
    model = nlp.get_pipe("transformer").model
    assert model.layers[0].shims[0]._model is model.transformer  # what forward() runs
    linears = [m for m in model.transformer.modules() if isinstance(m, torch.nn.Linear)]
    quantized = [m for m in model.transformer.modules()
                 if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert not linears and len(quantized) >= 6 * 6  # 6 layers: q, k, v, out, up, down


def test_same_data_and_seed_give_the_same_thresholds_and_metrics(trained, tmp_path):
    model_dir, _, args = trained
    again = tmp_path / "again"
    shutil.copytree(model_dir, again)  # an earlier model in -o is replaced whole
    (again / "stale-file").write_text("from the earlier model")
    result = CliRunner().invoke(main, [*args[:2], "-o", str(again), *args[4:]])
    assert result.exit_code == 0, result.output
    assert not (again / "stale-file").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["again"]  # nothing partial left beside it
    first, second = read_card(model_dir), read_card(again)
    assert second["thresholds"] == first["thresholds"]
    assert second["dev_metrics"] == first["dev_metrics"]
    assert second["train"][0]["sha256"] == first["train"][0]["sha256"]
    assert (again / CARD_FILE).is_file() and srsly.read_json(again / CARD_FILE)["seed"] == 1


def test_evaluate_compares_coded_files_side_by_side(tmp_path):
    comments = tmp_path / "c.jsonl"
    gold = tmp_path / "gold.jsonl"
    rows = [("1", "it is free and there 24/7", ["accessibility"]),
            ("2", "which app is this?", []),
            ("3", "they sell your data to advertisers", ["privacy"])]
    comments.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t, _ in rows))
    gold.write_text("".join(json.dumps({"id": i, "experience": "no_personal_use",
                                        "attitude": "neutral", "themes": th}) + "\n"
                            for i, _, th in rows))
    runner = CliRunner()
    coded = []
    for name in ("first", "second"):
        out = tmp_path / f"{name}.jsonl"
        assert runner.invoke(main, ["annotate", str(comments), "-o", str(out)]).exit_code == 0
        coded.append(str(out))
    metrics = tmp_path / "m.json"
    result = runner.invoke(main, ["evaluate", coded[0], str(gold), "--compare", coded[1],
                                  "--json", str(metrics)])
    assert result.exit_code == 0, result.output
    assert "macro-F1 / kappa" in result.output and "(n=3)" in result.output
    systems = json.loads(metrics.read_text())["systems"]
    assert [s["system"] for s in systems] == coded
    assert systems[0]["tiers"] == systems[1]["tiers"]
    assert "not comparable" not in result.output
    fewer = tmp_path / "fewer.jsonl"
    fewer.write_text("".join(Path(coded[1]).read_text().splitlines(keepends=True)[:2]))
    result = runner.invoke(main, ["evaluate", coded[0], str(gold), "--compare", str(fewer)],
                           terminal_width=200)
    assert "(n=2)" in result.output
    assert "different gold ids, so their figures are not comparable" in result.output
