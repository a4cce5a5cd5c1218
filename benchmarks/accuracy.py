"""Accuracy on the hand-coded dev gold: rules, TF-IDF + logistic regression, transformer.

Prints per-tier macro-F1 and Cohen's kappa (computed by `themekit.evaluate`) and the
estimated share of personal_use against the gold share, for:

    rules only               the codebook's patterns and tier rules
    TF-IDF + LR              scikit-learn, trained on the same training file as the model
    transformer (model only) the trained model, every code with combine policy `model`
    transformer + rules      the trained model with the combine policies saved in its
                             codebook (the shipped default), then either and
                             model_unless_veto for every code

The gold file is for measurement only: nothing here is tuned on it.

    python benchmarks/accuracy.py --model /tmp/models/mh [--quantize] [--json out.json]

Skips with a message when ../shared/data (beside the repository) is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
GOLD = DATA / "dev-gold.jsonl"
CORPUS = DATA / "comments-10k.jsonl"
TRAIN = REPO / "codebooks" / "llm-mental-health" / "train.jsonl"
SHARE_CODE = ("experience", "personal_use")
DEFAULT_SYSTEM = "transformer + rules (codebook default)"


def gold_items(codebook) -> tuple[list[str], list[str], dict]:
    """Ids, texts and gold Labels of the dev gold, texts looked up in the corpus by id."""
    from themekit.evaluate import read_gold

    gold = read_gold(GOLD, codebook)
    texts = {}
    with open(CORPUS, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["id"] in gold:
                texts[record["id"]] = record["text"]
    ids = [i for i in gold if i in texts]
    return ids, [texts[i] for i in ids], gold


def pipeline_labels(nlp, texts: Sequence[str]) -> list:
    """Labels of each text as `themekit annotate` would code it with this pipeline."""
    from themekit.coded import Labels

    out = []
    for doc in nlp.pipe(texts, batch_size=64):
        codes = doc._.themekit.codes
        out.append(Labels({t: (v if isinstance(v, str) else frozenset(v))
                           for t, v in codes.items()}))
    return out


def tfidf_labels(codebook, train_path: Path, texts: Sequence[str]) -> list:
    """A TF-IDF + logistic regression baseline per tier on the model's training file."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from themekit.coded import Labels
    from themekit.train import read_training_file

    examples = read_training_file(train_path, codebook).examples
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    x_train = vectorizer.fit_transform([ex.text for ex in examples])
    x_test = vectorizer.transform(texts)
    per_tier = {}
    for tier in codebook.tiers:
        if tier.kind == "exclusive":
            clf = LogisticRegression(max_iter=2000, class_weight="balanced")
            clf.fit(x_train, [ex.codes[tier.id][0] for ex in examples])
            per_tier[tier.id] = list(clf.predict(x_test))
            continue
        chosen = [set() for _ in texts]
        for code in codebook.leaf_codes(tier.id):
            y = [code.id in ex.codes[tier.id] for ex in examples]
            if not any(y):
                continue
            clf = LogisticRegression(max_iter=2000, class_weight="balanced").fit(x_train, y)
            for i, positive in enumerate(clf.predict(x_test)):
                if positive:
                    chosen[i].add(code.id)
        per_tier[tier.id] = [frozenset(codebook.with_ancestors(c)) for c in chosen]
    return [Labels({t: per_tier[t][i] for t in per_tier}) for i in range(len(texts))]


def score(codebook, ids: Sequence[str], labels: Sequence, gold: dict) -> dict:
    from themekit.evaluate import evaluate

    result = evaluate(codebook, zip(ids, labels), gold)
    tier, code = SHARE_CODE
    share = sum(lab.codes[tier] == code for lab in labels) / len(labels)
    return {"tiers": {t: {"macro_f1": s.macro_f1, "kappa": s.kappa}
                      for t, s in result.tiers.items()}, "personal_use_share": share}


def run(model: Path | None, train_path: Path, quantize: bool) -> dict:
    from themekit.codebook import load_codebook
    from themekit.pipeline import build_pipeline

    codebook = load_codebook("llm-mental-health")
    ids, texts, gold = gold_items(codebook)
    tier, code = SHARE_CODE
    results = {"n": len(ids),
               "gold_personal_use_share": sum(gold[i].codes[tier] == code for i in ids) / len(ids),
               "systems": {}}
    systems = results["systems"]
    systems["rules only"] = score(codebook, ids, pipeline_labels(build_pipeline(codebook), texts),
                                  gold)
    systems["TF-IDF + LR"] = score(codebook, ids, tfidf_labels(codebook, train_path, texts), gold)
    if model is not None:
        shipped = build_pipeline(codebook, model).get_pipe("themekit").codebook
        results["default_policies"] = {t.id: t.combine for t in shipped.tiers}
        for name, policy in (("transformer (model only)", "model"),
                             (DEFAULT_SYSTEM, None),
                             ("transformer + rules (either everywhere)", "either"),
                             ("transformer + rules (model_unless_veto everywhere)",
                              "model_unless_veto")):
            nlp = build_pipeline(codebook, model, combine=policy, quantize=quantize)
            systems[name] = score(codebook, ids, pipeline_labels(nlp, texts), gold)
    return results


def print_table(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    first = next(iter(results["systems"].values()))
    tiers = list(first["tiers"])
    table = Table("system", *(f"{t} F1 / κ" for t in tiers), "personal_use share",
                  title=f"dev gold: {results['n']} comments; gold personal_use share "
                  f"{results['gold_personal_use_share']:.1%}", title_justify="left")
    for name, s in results["systems"].items():
        cells = [f"{s['tiers'][t]['macro_f1']:.3f} / {s['tiers'][t]['kappa']:.3f}" for t in tiers]
        table.add_row(name, *cells, f"{s['personal_use_share']:.1%}")
    Console(width=150).print(table)


def print_targets(results: dict) -> None:
    systems = results["systems"]
    if DEFAULT_SYSTEM not in systems:
        print("targets: no trained model given (--model); transformer targets not checked")
        return
    best = systems[DEFAULT_SYSTEM]
    rules, tfidf = systems["rules only"], systems["TF-IDF + LR"]
    first_tier = next(iter(best["tiers"]))
    checks = [(f"{first_tier} macro-F1 >= 0.80 (transformer + rules)",
               best["tiers"][first_tier]["macro_f1"] >= 0.80)]
    for tier in (list(best["tiers"])[0], list(best["tiers"])[-1]):
        margin = best["tiers"][tier]["macro_f1"] - max(rules["tiers"][tier]["macro_f1"],
                                                       tfidf["tiers"][tier]["macro_f1"])
        checks.append((f"{tier}: transformer + rules beats rules and TF-IDF by >= 0.05 "
                       f"(margin {margin:+.3f})", margin >= 0.05))
    gap = abs(best["personal_use_share"] - results["gold_personal_use_share"])
    checks.append((f"personal_use share within 3 points of gold (gap {gap:.1%})", gap <= 0.03))
    policies = ", ".join(f"{t}: {p}" for t, p in results["default_policies"].items())
    print(f"targets for {DEFAULT_SYSTEM} ({policies}):")
    for text, ok in checks:
        print(f"  [{'met' if ok else 'NOT met'}] {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="A model directory from `themekit train`.")
    parser.add_argument("--train", type=Path, default=TRAIN,
                        help="Training file for the TF-IDF baseline (the model's own).")
    parser.add_argument("--quantize", action="store_true", help="Quantize the transformer.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = parser.parse_args()
    if not (GOLD.is_file() and CORPUS.is_file()):
        print(f"skipped: {GOLD} or {CORPUS} not found (the shared data sits beside the repo)")
        return
    results = run(args.model, args.train, args.quantize)
    print_table(results)
    print_targets(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
