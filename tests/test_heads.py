"""The frozen-encoder model: heads of the codebook's shape, their cache, training by CV."""

from __future__ import annotations

import json

import numpy
import pytest
import spacy
import srsly
from click.testing import CliRunner

from themekit.cli import main
from themekit.codebook import load_codebook
from themekit.errors import SettingError
from themekit.model.encoder import EmbeddingCache
from themekit.model.heads import HEADS, CodebookHeads, TierHead, WordFeatures, blend, score_vectors
from themekit.model.card import CARD_FILE, model_identity
from themekit.model.train_heads import (FittedHeads, HeadsOptions, Setting, fit_heads,
                                  out_of_fold_sentence_scores, out_of_fold_word_scores,
                                  train_heads)

from tests.test_train import EXAMPLES, write_examples


@pytest.fixture(scope="module")
def codebook():
    return load_codebook("llm-mental-health")


def separable(codebook, n=60, dim=8, seed=0):
    """Vectors whose first dimensions say the codes: a problem a linear head must solve."""
    rng = numpy.random.default_rng(seed)
    vectors = rng.normal(0, 0.3, (n, dim)).astype(numpy.float32)
    codes = []
    for i in range(n):
        use = i % 2 == 0
        attitude = ["positive", "negative", "neutral"][i % 3]
        vectors[i, 0] += 2 if use else -2
        vectors[i, 1 + i % 3] += 2
        themes = ["privacy"] if i % 4 == 0 else []
        vectors[i, 5] += 2 if themes else -2
        codes.append({"experience": ["personal_use" if use else "no_personal_use"],
                      "attitude": [attitude], "themes": themes, "flags": []})
    return vectors, codes


def test_an_exclusive_tier_is_one_softmax_and_a_multi_tier_a_sigmoid_per_code():
    weights = numpy.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=numpy.float32)
    bias = numpy.zeros(3, dtype=numpy.float32)
    vectors = numpy.array([[3.0, -1.0], [0.5, 0.5]], dtype=numpy.float32)
    exclusive = TierHead("attitude", "exclusive", ["a", "b", "c"], weights, bias).scores(vectors)
    assert numpy.allclose(exclusive.sum(axis=1), 1.0)
    multi = TierHead("themes", "multi", ["a", "b", "c"], weights, bias).scores(vectors)
    assert multi.sum(axis=1)[0] > 1.0  # independent codes: no sum to keep
    assert numpy.allclose(multi[1], 1 / (1 + numpy.exp(-numpy.array([0.5, 0.5, 1.0]))))


def test_fitted_heads_learn_every_tier_and_never_score_an_unseen_code(codebook):
    vectors, codes = separable(codebook)
    heads = fit_heads(codebook, vectors, codes, Setting(1.0, balanced=True))
    assert [h.tier for h in heads] == [t.id for t in codebook.tiers]
    scores = score_vectors(heads, vectors)
    for row, truth in zip(scores, codes):
        experience = max(("personal_use", "no_personal_use"), key=row.get)
        assert experience == truth["experience"][0]
        assert (row["privacy"] > 0.5) == ("privacy" in truth["themes"])
        assert row["mixed"] < 1e-6  # no mixed example: the code cannot win
        assert row["dependency"] < 1e-6
        assert row["positive"] + row["negative"] + row["neutral"] + row["mixed"] == \
            pytest.approx(1.0, abs=1e-5)


def test_out_of_fold_scores_come_from_heads_that_never_saw_the_row(codebook, monkeypatch):
    vectors, codes = separable(codebook, n=40)
    seen = []

    def recording(book, fit_vectors, fit_codes, setting):
        seen.append({v.tobytes() for v in fit_vectors})
        return fit_heads(book, fit_vectors, fit_codes, setting)

    monkeypatch.setattr("themekit.model.train_heads.fit_heads", recording)
    scores = out_of_fold_sentence_scores(codebook, vectors, codes, Setting(1.0, False), folds=4,
                                         seed=0)
    assert len(seen) == 4 and all(scores)
    for row_vector in vectors:
        assert sum(row_vector.tobytes() not in fitted for fitted in seen) == 1
    again = out_of_fold_sentence_scores(codebook, vectors, codes, Setting(1.0, False), folds=4,
                                        seed=0)
    assert again == scores


def word_texts(codes):
    """Texts whose words say the codes, one word per code, amid shared filler."""
    return [" ".join(["the", "app", "said",
                      "mine" if c["experience"][0] == "personal_use" else "theirs",
                      c["attitude"][0], *(["data"] if "privacy" in c["themes"] else [])])
            for c in codes]


def test_word_features_are_fitted_on_the_other_folds_only(codebook, monkeypatch):
    _, codes = separable(codebook, n=40)
    texts = word_texts(codes)
    texts[0] += " zebra zebra"  # twice in one text: a word of that text's fold alone
    fitted = []
    real_fit = WordFeatures.fit

    def recording(texts):
        words = real_fit(texts)
        fitted.append(set(words.vocabulary))
        return words

    monkeypatch.setattr(WordFeatures, "fit", staticmethod(recording))
    scores = out_of_fold_word_scores(codebook, texts, codes, Setting(10.0, False), folds=4,
                                     seed=0)
    assert len(fitted) == 4 and all("zebra" not in vocabulary for vocabulary in fitted)
    right = sum(max(("personal_use", "no_personal_use"), key=row.get) == c["experience"][0]
                for row, c in zip(scores, codes))
    assert right == len(codes)  # "mine" and "theirs" say it, out of fold too


def test_heads_round_trip_through_disk_and_bytes(codebook, tmp_path):
    vectors, codes = separable(codebook)
    nlp = spacy.blank("en")
    component = nlp.add_pipe(HEADS, config={"max_length": 64})
    component.set_heads(fit_heads(codebook, vectors, codes, Setting(1.0, False)))
    nlp.to_disk(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m" / HEADS).iterdir()) == ["heads.json",
                                                                         "heads.npz"]
    loaded = spacy.load(tmp_path / "m").get_pipe(HEADS)
    from_bytes = CodebookHeads(nlp).from_bytes(component.to_bytes())
    expected = score_vectors(component.heads, vectors)
    assert score_vectors(loaded.heads, vectors) == expected
    for row, want in zip(score_vectors(from_bytes.heads, vectors), expected):
        assert row == pytest.approx(want)
    assert loaded.max_length == 64 and loaded.labels == component.labels


class FixedEncoder:
    """The separable vectors, by text, in place of the real encoder."""

    def __init__(self, by_text):
        self.by_text = by_text

    def encode(self, texts):
        return numpy.stack([self.by_text[t] for t in texts])


def test_word_heads_blend_with_the_sentence_heads_and_survive_saving(codebook, tmp_path):
    vectors, codes = separable(codebook)
    texts = [f"{t} {i}" for i, t in enumerate(word_texts(codes))]
    fitted = FittedHeads.fit(codebook, vectors, texts, codes, Setting(1.0, True, words=10.0))
    nlp = spacy.blank("en")
    component = nlp.add_pipe(HEADS)
    component.set_heads(fitted.heads, fitted.word_heads, fitted.words)
    component._encoder = FixedEncoder(dict(zip(texts, vectors)))
    expected = blend(score_vectors(fitted.heads, vectors),
                     score_vectors(fitted.word_heads, fitted.words.transform(texts)))
    assert component.score_texts(texts) == expected
    assert expected != score_vectors(fitted.heads, vectors)
    nlp.to_disk(tmp_path / "m")
    loaded = spacy.load(tmp_path / "m").get_pipe(HEADS)
    loaded._encoder = component._encoder
    for row, want in zip(loaded.score_texts(texts), expected):
        assert row == pytest.approx(want, abs=1e-6)
    from_bytes = CodebookHeads(nlp).from_bytes(component.to_bytes())
    from_bytes._encoder = component._encoder
    for row, want in zip(from_bytes.score_texts(texts), expected):
        assert row == pytest.approx(want, abs=1e-6)
    with pytest.raises(ValueError, match="word heads and their word features come together"):
        component.set_heads(fitted.heads, fitted.word_heads)


def test_the_same_heads_save_to_the_same_bytes(codebook, tmp_path, monkeypatch):
    """A rebuilt model with the same weights keeps its sha256, the identity records carry
    (zip members written by name get a fixed 1980 time stamp, not the clock's)."""
    import time

    vectors, codes = separable(codebook)
    heads = spacy.blank("en").add_pipe(HEADS)
    heads.set_heads(fit_heads(codebook, vectors, codes, Setting(1.0, False)))
    heads.to_disk(tmp_path / "a")
    monkeypatch.setattr(time, "time", lambda: 2e9)  # saved in 2033
    heads.to_disk(tmp_path / "b")
    first, second = (tmp_path / "a" / "heads.npz"), (tmp_path / "b" / "heads.npz")
    assert first.read_bytes() == second.read_bytes()
    with numpy.load(first) as arrays:
        assert numpy.array_equal(arrays["attitude.weights"], heads.heads[1].weights)


def test_untrained_heads_say_how_to_train_them():
    nlp = spacy.blank("en")
    nlp.add_pipe(HEADS)
    with pytest.raises(ValueError, match="has no heads: train them with `themekit train"):
        nlp("hello")


class CountingEncoder:
    key = "fake|8"
    dimension = 3

    def __init__(self):
        self.encoded: list[str] = []

    def encode(self, texts, on_batch=lambda done: None):
        self.encoded.extend(texts)
        on_batch(len(texts))
        return numpy.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=numpy.float32)


def test_the_cache_encodes_each_text_once(tmp_path):
    cache, encoder = EmbeddingCache(tmp_path), CountingEncoder()
    first = cache.embed(encoder, ["a", "bb", "a"])
    assert sorted(encoder.encoded) == ["a", "bb"]
    second = EmbeddingCache(tmp_path).embed(encoder, ["bb", "ccc", "a"])
    assert sorted(encoder.encoded) == ["a", "bb", "ccc"]
    assert numpy.array_equal(second[0], first[1]) and numpy.array_equal(second[2], first[0])
    assert [p.suffix for p in tmp_path.iterdir()] == [".npz"]


# ---------------------------------------------------------------- end to end, real encoder


@pytest.fixture(scope="module")
def heads_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("heads")
    data = write_examples(root / "train.jsonl")
    options = HeadsOptions(folds=2, max_length=32, regularization=(1.0,))
    cache = EmbeddingCache(root / "cache")
    first = train_heads(data, root / "a", load_codebook("llm-mental-health"), options=options,
                        cache=cache)
    again = train_heads(data, root / "b", load_codebook("llm-mental-health"), options=options,
                        cache=cache)
    return root, first, again


def test_trained_heads_load_with_spacy_and_code_comments(heads_model):
    root, first, _ = heads_model
    nlp = spacy.load(root / "a")
    assert nlp.pipe_names == [HEADS, "themekit"]
    text = "I talk to ChatGPT every night when my anxiety gets bad"
    heads_only = nlp.get_pipe(HEADS)(nlp.make_doc(text)).cats  # before rules are combined in
    assert heads_only["personal_use"] + heads_only["no_personal_use"] == pytest.approx(1.0,
                                                                                     abs=1e-5)
    assert nlp(text)._.themekit.codes["experience"]
    size = sum(p.stat().st_size for p in (root / "a").rglob("*") if p.is_file())
    assert size < 1_000_000  # the heads name the encoder instead of holding it
    card = srsly.read_json(root / "a" / CARD_FILE)
    assert card["mode"] == "heads" and card["examples"] == {"train": 30, "tuned_on": 30}
    assert [s["setting"] for s in card["cv_metrics"]["settings"]] == [
        "C=1, unweighted", "C=1, balanced", "C=1, unweighted, words C=10",
        "C=1, balanced, words C=10"]
    blank = spacy.blank("en")
    blank.to_disk(root / "blank")
    assert (root / "a" / "vocab" / "strings.json").read_text() == \
        (root / "blank" / "vocab" / "strings.json").read_text()  # no word of its comments
    assert nlp(text)._.themekit.model == model_identity(root / "a")  # its records name it
    assert nlp(text)._.themekit.model["name"] == "a"
    assert card["peak_rss_mb"] > 0 and card["encoding_seconds"] >= 0


def test_same_data_and_seed_give_the_same_heads_and_metrics(heads_model):
    _, first, again = heads_model
    assert first.card["cv_metrics"] == again.card["cv_metrics"]
    assert first.card["thresholds"] == again.card["thresholds"]
    assert again.card["encoding_seconds"] < first.card["encoding_seconds"] + 1  # cached


def test_tune_on_must_name_a_training_file(tmp_path, codebook):
    data = write_examples(tmp_path / "train.jsonl")
    other = write_examples(tmp_path / "other.jsonl", EXAMPLES[:2])
    with pytest.raises(SettingError, match=r"tune_on: .*other.jsonl: not one of the training"):
        train_heads(data, tmp_path / "m", codebook, tune_on=[other],
                    options=HeadsOptions(folds=2, max_length=16, regularization=(1.0,)),
                    cache=EmbeddingCache(tmp_path / "cache"))
    assert not (tmp_path / "m").exists()


def test_cli_trains_heads_by_default_and_prints_time_and_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("THEMEKIT_CACHE", str(tmp_path / "cache"))
    data = write_examples(tmp_path / "t.jsonl")
    result = CliRunner().invoke(main, ["train", str(data), "-o", str(tmp_path / "m"),
                                       "--folds", "2", "--max-length", "32"])
    assert result.exit_code == 0, result.output
    assert "cross-validated macro-F1" in result.output
    assert "C=4, balanced" in result.output
    assert "peak memory" in result.output and "trained in" in result.output
    assert json.loads((tmp_path / "m" / CARD_FILE).read_text())["base_model"]["max_length"] == 32


def test_cli_refuses_finetune_options_in_heads_mode(tmp_path):
    data = write_examples(tmp_path / "t.jsonl")
    result = CliRunner().invoke(main, ["train", str(data), "-o", str(tmp_path / "m"),
                                       "--dev", str(data)])
    assert result.exit_code == 2
    assert "--dev is for --mode finetune" in result.output
    result = CliRunner().invoke(main, ["train", str(data), "-o", str(tmp_path / "m"),
                                       "--mode", "finetune", "--tune-on", str(data)])
    assert result.exit_code == 2 and "--tune-on is for --mode heads" in result.output


def test_quantize_makes_the_encoder_int8_and_keeps_the_codes_close(heads_model):
    import torch

    from themekit.nlp.pipeline import quantize_transformer

    root, _, _ = heads_model
    text = "my replika is there at 3am when nobody else is"
    plain = spacy.load(root / "a")(text).cats
    nlp = spacy.load(root / "a")
    quantize_transformer(nlp)
    quantized = nlp(text).cats
    encoder = nlp.get_pipe(HEADS).encoder.model
    assert not any(type(m) is torch.nn.Linear for m in encoder.modules())
    assert max(abs(quantized[k] - plain[k]) for k in plain) < 0.15
