"""Accuracy on hand-coded gold: rules, TF-IDF + logistic regression, and trained models.

Prints per-tier macro-F1 and Cohen's kappa (computed by `themekit.analysis.evaluate`), the themes
micro-F1, and the estimated share of personal_use against the gold share, for:

    rules only            the codebook's patterns and tier rules (`annotate --rules-only`)
    default annotate      rules plus the codebook's shipped model (`annotate`, no options)
    TF-IDF + LR           scikit-learn, trained on the given training files
    NAME (model only)     each --model, every code with combine policy `model`
    NAME + rules          each --model with the combine policies saved in its codebook

`--per-code` adds every code's F1, rare codes included. The default gold is the dev gold,
which is for measurement only: nothing here is tuned on it. `--gold` takes any gold file
whose ids are in the corpus, such as a held-out part of the training data.

    python benchmarks/accuracy.py --model heads=models/mh --model ft=models/ft \
        --train codebooks/llm-mental-health/train*.jsonl [--per-code] [--json out.json]

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
TRAIN = sorted((REPO / "codebooks" / "llm-mental-health").glob("train*.jsonl"))
SHARE_CODE = ("experience", "personal_use")


def gold_items(codebook, gold_path: Path) -> tuple[list[str], list[str], dict]:
    """Ids, texts and gold Labels of a gold file, texts looked up in the corpus by id."""
    from themekit.analysis.evaluate import read_gold

    gold = read_gold(gold_path, codebook)
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
    from themekit.io.coded import Labels

    out = []
    for doc in nlp.pipe(texts, batch_size=64):
        codes = doc._.themekit.codes
        out.append(Labels({t: (v if isinstance(v, str) else frozenset(v))
                           for t, v in codes.items()}))
    return out


def tfidf_labels(codebook, train_paths: Sequence[Path], texts: Sequence[str]) -> list:
    """A TF-IDF + logistic regression baseline per tier on the models' training files."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from themekit.io.coded import Labels
    from themekit.model.finetune import read_training_files

    examples = [ex for f in read_training_files(train_paths, codebook, corpus=CORPUS)
                for ex in f.examples]
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
    from themekit.analysis.evaluate import evaluate

    result = evaluate(codebook, zip(ids, labels), gold)
    tier, code = SHARE_CODE
    share = sum(lab.codes[tier] == code for lab in labels) / len(labels)
    return {"tiers": {t: {"macro_f1": s.macro_f1, "micro_f1": s.micro_f1, "kappa": s.kappa,
                          "codes": {c: cs.f1 for c, cs in s.codes.items() if cs.leaf}}
                      for t, s in result.tiers.items()}, "personal_use_share": share}


def run(models: dict[str, Path], train_paths: Sequence[Path], gold_path: Path,
        quantize: bool) -> dict:
    from themekit.codebook import load_codebook
    from themekit.nlp.pipeline import build_pipeline

    codebook = load_codebook("llm-mental-health")
    ids, texts, gold = gold_items(codebook, gold_path)
    tier, code = SHARE_CODE
    results = {"gold": str(gold_path), "n": len(ids),
               "gold_personal_use_share": sum(gold[i].codes[tier] == code for i in ids) / len(ids),
               "systems": {}, "default_policies": {}}
    systems = results["systems"]
    systems["rules only"] = score(
        codebook, ids, pipeline_labels(build_pipeline(codebook, rules_only=True), texts), gold)
    systems["default annotate"] = score(
        codebook, ids, pipeline_labels(build_pipeline(codebook, quantize=quantize), texts), gold)
    systems["TF-IDF + LR"] = score(codebook, ids, tfidf_labels(codebook, train_paths, texts), gold)
    for name, model in models.items():
        shipped = build_pipeline(codebook, model).get_pipe("themekit").codebook
        results["default_policies"][name] = {t.id: t.combine for t in shipped.tiers}
        for label, policy in ((f"{name} (model only)", "model"), (f"{name} + rules", None)):
            nlp = build_pipeline(codebook, model, combine=policy, quantize=quantize)
            systems[label] = score(codebook, ids, pipeline_labels(nlp, texts), gold)
    return results


def print_table(results: dict, per_code: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    first = next(iter(results["systems"].values()))
    tiers = list(first["tiers"])
    table = Table("system", *(f"{t} F1 / κ" for t in tiers), "themes micro-F1",
                  "personal_use share",
                  title=f"{results['gold']}: {results['n']} comments; gold personal_use share "
                  f"{results['gold_personal_use_share']:.1%}", title_justify="left")
    for name, s in results["systems"].items():
        cells = [f"{_fmt(s['tiers'][t]['macro_f1'])} / {_fmt(s['tiers'][t]['kappa'])}"
                 for t in tiers]
        table.add_row(name, *cells, _fmt(s["tiers"]["themes"]["micro_f1"]),
                      f"{s['personal_use_share']:.1%}")
    console = Console(width=200)
    console.print(table)
    if per_code:
        codes = [(t, c) for t in tiers for c in first["tiers"][t]["codes"]]
        detail = Table("system", *(c for _, c in codes), title="F1 per code",
                       title_justify="left")
        for name, s in results["systems"].items():
            detail.add_row(name, *(_fmt(s["tiers"][t]["codes"][c]) for t, c in codes))
        console.print(detail)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def print_targets(results: dict) -> None:
    """Issue 12's targets for each model + rules; issue 14's for the default annotate."""
    systems, rules = results["systems"], results["systems"]["rules only"]
    gold_share = results["gold_personal_use_share"]
    for name in ["default annotate", *(f"{m} + rules" for m in results["default_policies"])]:
        tiers = systems[name]["tiers"]
        gap = systems[name]["personal_use_share"] - gold_share
        exp, att, themes = ((0.83, 0.62, 0.52) if name == "default annotate"
                            else (0.85, 0.65, 0.55))
        checks = [(f"experience macro-F1 >= {exp}", tiers["experience"]["macro_f1"] >= exp),
                  (f"attitude macro-F1 >= {att}", tiers["attitude"]["macro_f1"] >= att),
                  (f"themes micro-F1 >= {themes}", (tiers["themes"]["micro_f1"] or 0) >= themes),
                  (f"personal_use share within 3 points (gap {gap:+.1%})", abs(gap) <= 0.03),
                  ("at least rules-only macro-F1 on every tier",
                   all((tiers[t]["macro_f1"] or 0) >= (rules["tiers"][t]["macro_f1"] or 0)
                       for t in tiers))]
        print(f"targets for {name}:")
        for text, ok in checks:
            print(f"  [{'met' if ok else 'NOT met'}] {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], metavar="NAME=DIR",
                        help="A model directory from `themekit train` (repeatable).")
    parser.add_argument("--train", type=Path, nargs="+", default=TRAIN,
                        help="Training files for the TF-IDF baseline (texts joined from the "
                        "corpus by id).")
    parser.add_argument("--gold", type=Path, default=GOLD, help="Gold file (default: dev gold).")
    parser.add_argument("--quantize", action="store_true", help="Quantize the encoders.")
    parser.add_argument("--per-code", action="store_true", help="Also print F1 per code.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = parser.parse_args()
    if not (args.gold.is_file() and CORPUS.is_file()):
        print(f"skipped: {args.gold} or {CORPUS} not found (the shared data sits beside the repo)")
        return
    models = dict(m.split("=", 1) if "=" in m else (Path(m).name, m) for m in args.model)
    results = run({k: Path(v) for k, v in models.items()}, args.train, args.gold, args.quantize)
    print_table(results, args.per_code)
    print_targets(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
