"""Train codebook heads on the frozen encoder, choosing every setting by cross-validation.

The fast mode of `themekit train` (`--mode heads`): each training text is encoded once (and
cached), and the heads are logistic regressions on the sentence vectors, a softmax per
exclusive tier and a binary one per code of a multi tier. That takes a minute or two for a
few thousand comments on two CPU cores, against tens of minutes for a fine-tune, so the
settings can be chosen honestly: k-fold cross-validation gives every training example a
score from heads that never saw it, and those out-of-fold scores choose the regularisation,
the class weighting, the thresholds and show each combine policy, on the files named by
`tune_on` (say, the real comments, when invented examples only help training).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy
import spacy
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from themekit.errors import SettingError
from themekit.codebook import Codebook
from themekit.model.encoder import PACKAGED_ENCODER, EmbeddingCache, SentenceEncoder
from themekit.model.heads import ABSENT, HEADS, TierHead, WordFeatures, blend, score_vectors
from themekit.model.card import training_run
from themekit.model.finetune import (Codes, LabelledText, TrainOptions, TrainResult,
                            codebook_reference, coverage_warnings, decide, load_training_data,
                            overall_f1, policy_metrics, save_model, tier_metrics,
                            tune_thresholds)


@dataclass(frozen=True)
class HeadsOptions:
    folds: int = 5
    seed: int = 0
    max_length: int = 256
    encoder: str = PACKAGED_ENCODER
    regularization: tuple[float, ...] = (0.25, 1.0, 4.0)
    """Inverse regularisation strengths (scikit-learn's C) tried by cross-validation."""
    weightings: tuple[bool, ...] = (False, True)
    """Class weighting tried: none, and 'balanced' (rare codes weigh as much as common ones)."""
    word_regularization: tuple[float | None, ...] = (None, 10.0)
    """The word heads' C tried by cross-validation; None: the sentence heads alone."""


@dataclass(frozen=True)
class Setting:
    regularization: float
    balanced: bool
    words: float | None = None
    """The word heads' C, when word heads join the sentence heads."""

    def describe(self) -> str:
        weighting = "balanced" if self.balanced else "unweighted"
        words = f", words C={self.words:g}" if self.words is not None else ""
        return f"C={self.regularization:g}, {weighting}{words}"

    def for_words(self) -> Setting:
        """The word heads' own setting: their C, the same weighting."""
        assert self.words is not None
        return Setting(self.words, self.balanced)


@dataclass
class FittedHeads:
    """Sentence heads, and word heads with their features when the setting has them."""

    heads: list[TierHead]
    word_heads: list[TierHead]
    words: WordFeatures | None

    @classmethod
    def fit(cls, codebook: Codebook, vectors: numpy.ndarray, texts: Sequence[str],
            codes: Sequence[Codes], setting: Setting) -> FittedHeads:
        heads = fit_heads(codebook, vectors, codes, setting)
        if setting.words is None:
            return cls(heads, [], None)
        words = WordFeatures.fit(texts)
        return cls(heads, fit_heads(codebook, words.transform(texts), codes,
                                    setting.for_words()), words)


def fit_heads(codebook: Codebook, vectors: Any, codes: Sequence[Codes],
              setting: Setting) -> list[TierHead]:
    """One head per tier, fitted on `vectors` (dense, or sparse word features) and their
    leaf codes."""
    heads = []
    for tier in codebook.tiers:
        labels = [c.id for c in codebook.leaf_codes(tier.id)]
        if tier.kind == "exclusive":
            truth = numpy.array([labels.index(c[tier.id][0]) for c in codes])
            weights, bias = _fit_softmax(vectors, truth, len(labels), setting)
        else:
            rows = [_fit_binary(vectors, numpy.array([label in c[tier.id] for c in codes]),
                                setting) for label in labels]
            weights = numpy.stack([w for w, _ in rows])
            bias = numpy.array([b for _, b in rows], dtype=numpy.float32)
        heads.append(TierHead(tier.id, tier.kind, labels, weights, bias))
    return heads


def _model(setting: Setting) -> LogisticRegression:
    return LogisticRegression(C=setting.regularization, max_iter=2000,
                              class_weight="balanced" if setting.balanced else None)


def _fit_softmax(vectors: Any, truth: numpy.ndarray, n_labels: int,
                 setting: Setting) -> tuple[numpy.ndarray, numpy.ndarray]:
    weights = numpy.zeros((n_labels, vectors.shape[1]), dtype=numpy.float32)
    bias = numpy.full(n_labels, ABSENT, dtype=numpy.float32)
    present = numpy.unique(truth)
    if len(present) == 1:  # one code only: it always wins
        bias[present[0]] = 0.0
        return weights, bias
    model = _model(setting).fit(vectors, truth)
    if len(present) == 2:  # scikit-learn keeps one logit for two classes: split it
        weights[present[1]], bias[present[1]] = model.coef_[0] / 2, model.intercept_[0] / 2
        weights[present[0]], bias[present[0]] = -model.coef_[0] / 2, -model.intercept_[0] / 2
    else:
        weights[present], bias[present] = model.coef_, model.intercept_
    return weights, bias


def _fit_binary(vectors: Any, truth: numpy.ndarray,
                setting: Setting) -> tuple[numpy.ndarray, float]:
    if truth.all() or not truth.any():  # nothing to tell apart: always, or never
        return numpy.zeros(vectors.shape[1], dtype=numpy.float32), (-ABSENT if truth.all()
                                                                    else ABSENT)
    model = _model(setting).fit(vectors, truth)
    return model.coef_[0].astype(numpy.float32), float(model.intercept_[0])


def _splits(codebook: Codebook, codes: Sequence[Codes], folds: int,
            seed: int) -> list[tuple[numpy.ndarray, numpy.ndarray]]:
    first = next((t.id for t in codebook.tiers if t.kind == "exclusive"), None)
    strata = [c[first][0] if first else "" for c in codes]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(numpy.zeros(len(codes)), strata))


def out_of_fold_sentence_scores(codebook: Codebook, vectors: numpy.ndarray,
                                codes: Sequence[Codes], setting: Setting, folds: int,
                                seed: int) -> list[dict[str, float]]:
    """Every example's scores from sentence heads fitted on the other folds (stratified by
    the first exclusive tier's code, seeded)."""
    scores: list[dict[str, float]] = [{} for _ in codes]
    for fit_rows, score_rows in _splits(codebook, codes, folds, seed):
        heads = fit_heads(codebook, vectors[fit_rows], [codes[i] for i in fit_rows], setting)
        for i, row in zip(score_rows, score_vectors(heads, vectors[score_rows])):
            scores[i] = row
    return scores


def out_of_fold_word_scores(codebook: Codebook, texts: Sequence[str], codes: Sequence[Codes],
                            setting: Setting, folds: int, seed: int) -> list[dict[str, float]]:
    """The same for word heads, their vocabulary and idf fitted on the other folds too."""
    scores: list[dict[str, float]] = [{} for _ in codes]
    for fit_rows, score_rows in _splits(codebook, codes, folds, seed):
        words = WordFeatures.fit([texts[i] for i in fit_rows])
        heads = fit_heads(codebook, words.transform([texts[i] for i in fit_rows]),
                          [codes[i] for i in fit_rows], setting)
        features = words.transform([texts[i] for i in score_rows])
        for i, row in zip(score_rows, score_vectors(heads, features)):
            scores[i] = row
    return scores


@dataclass
class SettingReport:
    setting: Setting
    thresholds: dict[str, float]
    tiers: dict[str, dict[str, float | None]]
    macro_f1: float


def choose_setting(codebook: Codebook, vectors: numpy.ndarray, texts: Sequence[str],
                   codes: Sequence[Codes], tune_rows: Sequence[int], options: HeadsOptions,
                   on_setting: Callable[[SettingReport], None] = lambda report: None,
                   ) -> tuple[SettingReport, list[dict[str, float]], list[SettingReport]]:
    """The setting whose out-of-fold scores, at thresholds tuned on them, give the best
    mean macro-F1 on the tuning rows; with those scores and every setting's report. Each
    sentence and word head setting is cross-validated once, and their scores blended."""
    sentence: dict[Setting, list[dict[str, float]]] = {}
    word: dict[Setting, list[dict[str, float]]] = {}
    reports, best, best_scores = [], None, []
    tune_codes = [codes[i] for i in tune_rows]
    for words in options.word_regularization:
        for regularization in options.regularization:
            for balanced in options.weightings:
                setting = Setting(regularization, balanced, words)
                alone = Setting(regularization, balanced)
                if alone not in sentence:
                    sentence[alone] = out_of_fold_sentence_scores(codebook, vectors, codes, alone,
                                                       options.folds, options.seed)
                scores = sentence[alone]
                if words is not None:
                    if setting.for_words() not in word:
                        word[setting.for_words()] = out_of_fold_word_scores(
                            codebook, texts, codes, setting.for_words(), options.folds,
                            options.seed)
                    scores = blend(scores, word[setting.for_words()])
                tune_scores = [scores[i] for i in tune_rows]
                thresholds = tune_thresholds(codebook, tune_scores, tune_codes)
                metrics = tier_metrics(codebook, tune_codes,
                                       [decide(codebook, s, thresholds) for s in tune_scores])
                report = SettingReport(setting, thresholds, metrics, overall_f1(metrics))
                reports.append(report)
                on_setting(report)
                if best is None or report.macro_f1 > best.macro_f1:
                    best, best_scores = report, scores
    assert best is not None
    return best, best_scores, reports


def train_heads(
    train_paths: str | Path | Sequence[str | Path],
    output: str | Path,
    codebook: Codebook,
    *,
    texts_path: str | Path | None = None,
    tune_on: Sequence[str | Path] = (),
    options: HeadsOptions = HeadsOptions(),
    cache: EmbeddingCache | None = None,
    name: str | None = None,
    on_warning: Callable[[str], None] = lambda message: None,
    on_encode: Callable[[int, int], None] = lambda done, total: None,
    on_setting: Callable[[SettingReport], None] = lambda report: None,
) -> TrainResult:
    """Encode, cross-validate the settings, fit the heads on every example, save.

    Writes a spaCy pipeline (`themekit_heads` then `themekit`) of a few hundred kilobytes
    that names its encoder instead of holding it, plus the model card.
    """
    started = time.perf_counter()
    if options.folds < 2:
        raise SettingError("folds", "must be at least 2")
    output = Path(output)
    data = load_training_data(train_paths, output, codebook, dev_path=None,
                              texts_path=texts_path, options=TrainOptions(seed=options.seed))
    examples: list[LabelledText] = data.train + data.dev  # cross-validation uses them all
    tune_rows = _tuning_rows(data.files, tune_on, examples)
    warnings = coverage_warnings(codebook, examples, "the training data")
    for message in warnings:
        on_warning(message)
    encoder = SentenceEncoder(options.encoder, options.max_length)
    texts = [ex.text for ex in examples]
    done = 0

    def encoded(n: int) -> None:
        nonlocal done
        done += n
        on_encode(done, len(texts))

    encode_started = time.perf_counter()
    vectors = (cache or EmbeddingCache()).embed(encoder, texts, encoded)
    encode_seconds = time.perf_counter() - encode_started
    codes = [ex.codes for ex in examples]
    best, scores, reports = choose_setting(codebook, vectors, texts, codes, tune_rows, options,
                                           on_setting)
    tune_scores = [scores[i] for i in tune_rows]
    tune_codes = [codes[i] for i in tune_rows]
    nlp = spacy.blank("en")
    by_policy = policy_metrics(nlp, codebook, [texts[i] for i in tune_rows], tune_scores,
                               tune_codes, options.seed)
    heads = nlp.add_pipe(HEADS, config={"encoder": options.encoder,
                                        "max_length": options.max_length})
    fitted = FittedHeads.fit(codebook, vectors, texts, codes, best.setting)
    heads.set_heads(fitted.heads, fitted.word_heads, fitted.words)
    nlp.add_pipe("themekit", config={"codebook": codebook_reference(codebook),
                                     "thresholds": best.thresholds})
    card = _card(codebook, data, options, best, reports, by_policy, examples, tune_rows,
                 warnings, encode_seconds, started)
    card = save_model(nlp, card, Path(output), name)
    return TrainResult(output, card, warnings)


def _tuning_rows(files: Sequence[Any], tune_on: Sequence[str | Path],
                 examples: Sequence[LabelledText]) -> list[int]:
    """Indexes of the examples whose out-of-fold scores choose the settings."""
    if not tune_on:
        return list(range(len(examples)))
    wanted = {Path(p).resolve() for p in tune_on}
    known = {Path(f.path).resolve() for f in files}
    unknown = [str(p) for p in tune_on if Path(p).resolve() not in known]
    if unknown:
        raise SettingError("tune_on", f"{', '.join(unknown)}: not one of the training files")
    chosen = {id(ex) for f in files if Path(f.path).resolve() in wanted for ex in f.examples}
    return [i for i, ex in enumerate(examples) if id(ex) in chosen]


def _card(codebook: Codebook, data: Any, options: HeadsOptions, best: SettingReport,
          reports: Sequence[SettingReport], by_policy: dict[str, Any],
          examples: Sequence[LabelledText], tune_rows: Sequence[int], warnings: list[str],
          encode_seconds: float, started: float) -> dict[str, Any]:
    return {
        "themekit_model": 1,
        "mode": "heads",
        "codebook": codebook.ref,
        "labels": [label for tier in codebook.tiers
                   for label in (c.id for c in codebook.leaf_codes(tier.id))],
        "pipeline": [HEADS, "themekit"],
        "base_model": {"name": options.encoder, "max_length": options.max_length,
                       "frozen": True},
        **{k: v for k, v in data.fingerprints().items() if k != "dev"},
        "examples": {"train": len(examples), "tuned_on": len(tune_rows)},
        "seed": options.seed,
        "folds": options.folds,
        "setting": {"regularization": best.setting.regularization,
                    "balanced": best.setting.balanced, "words": best.setting.words},
        "thresholds": best.thresholds,
        "cv_metrics": {
            "settings": [{"setting": r.setting.describe(), "tiers": r.tiers,
                          "macro_f1": r.macro_f1} for r in reports],
            "model_tuned_thresholds": {"tiers": best.tiers, "macro_f1": best.macro_f1},
            "by_combine_policy_crossfit": by_policy,
            "note": f"out-of-fold scores ({options.folds} folds) on the tuning examples; the "
                    "same scores chose the setting and thresholds, so the model figures are "
                    "optimistic; by_combine_policy_crossfit codes each half with thresholds "
                    "tuned on the other half",
        },
        "warnings": warnings,
        "encoding_seconds": round(encode_seconds, 1),
        **training_run(started),
    }
