"""Throughput and memory of `annotate --model` against a bare transformers forward pass.

On a fixed 2,000-comment slice of ../shared/data/comments-10k.jsonl (every k-th line, so
every source is in it) it prints comments/s and peak RSS of:

    bare forward      transformers AutoModel on the same base model, batch 64, truncation
                      to 128 wordpieces, input order, torch.inference_mode (no tokens kept)
    annotate          themekit annotate_file with the model (read, tokenize, transformer,
                      categorizer, rules, write JSONL), default batch size 256
    annotate b64      the same with batch size 64 (a smaller window to sort lengths in)
    annotate int8     the same as annotate, with --quantize

and the dev-gold macro-F1 per tier with and without --quantize, plus the training time and
peak RSS recorded in the model card. Each measurement runs in a fresh process so its peak
RSS is its own.

    python benchmarks/model_throughput.py --model /tmp/models/mh
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CORPUS = DATA / "comments-10k.jsonl"
SLICE = 2000
MODES = ("bare", "annotate", "annotate-b64", "annotate-int8", "gold", "gold-int8")


def write_slice(corpus: Path, target: Path) -> int:
    lines = corpus.read_text(encoding="utf-8").splitlines(keepends=True)
    step = max(1, len(lines) // SLICE)
    chosen = lines[::step][:SLICE]
    target.write_text("".join(chosen), encoding="utf-8")
    return len(chosen)


def child(mode: str, model: str, slice_path: str) -> dict:
    texts = [json.loads(line)["text"] for line in open(slice_path, encoding="utf-8")]
    if mode.startswith("gold"):
        return gold_scores(Path(model), quantize=mode.endswith("int8"))
    if mode == "bare":
        seconds = bare_forward(texts, model)
    else:
        seconds = annotate_seconds(model, slice_path, quantize=mode.endswith("int8"),
                                   batch_size=64 if mode.endswith("b64") else 256)
    return {"docs": len(texts), "seconds": seconds, "docs_per_s": len(texts) / seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def bare_forward(texts: list[str], model_dir: str) -> float:
    import torch
    from transformers import AutoModel, AutoTokenizer

    from themekit.model_card import read_card

    base = read_card(model_dir)["base_model"]["path"]
    tokenizer = AutoTokenizer.from_pretrained(base, use_fast=True)
    transformer = AutoModel.from_pretrained(base).eval()
    with torch.inference_mode():
        transformer(**tokenizer(["warm up"], return_tensors="pt"))
        start = time.perf_counter()
        for i in range(0, len(texts), 64):
            batch = tokenizer(texts[i:i + 64], truncation=True, max_length=128, padding=True,
                              return_tensors="pt")
            transformer(**batch)
    return time.perf_counter() - start


def annotate_seconds(model: str, slice_path: str, quantize: bool, batch_size: int) -> float:
    from themekit.annotate import annotate_file
    from themekit.codebook import load_codebook
    from themekit.pipeline import build_pipeline

    nlp = build_pipeline(load_codebook("llm-mental-health"), model, quantize=quantize)
    nlp("warm up the matchers and the transformer")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = annotate_file(nlp, slice_path, f"{tmp}/coded.jsonl", batch_size=batch_size)
        seconds = time.perf_counter() - start
    assert summary.balanced and summary.rejected == 0
    return seconds


def gold_scores(model: Path, quantize: bool) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    from accuracy import gold_items, pipeline_labels, score

    from themekit.codebook import load_codebook
    from themekit.pipeline import build_pipeline

    codebook = load_codebook("llm-mental-health")
    ids, texts, gold = gold_items(codebook)
    nlp = build_pipeline(codebook, model, quantize=quantize)
    return score(codebook, ids, pipeline_labels(nlp, texts), gold)


def measure(mode: str, model: Path, slice_path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--model", str(model),
                          "--slice", str(slice_path)], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"{mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True,
                        help="A model directory from `themekit train`.")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--slice", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, str(args.model), args.slice)))
        return
    if not CORPUS.is_file():
        print(f"skipped: {CORPUS} not found (the shared data sits beside the repository)")
        return
    from themekit.model_card import read_card

    card = read_card(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        slice_path = Path(tmp) / "slice.jsonl"
        n = write_slice(CORPUS, slice_path)
        results = {mode: measure(mode, args.model, slice_path) for mode in MODES}
    bare = results["bare"]["docs_per_s"]
    print(f"slice: {n} comments of {CORPUS.name} (every k-th line); torch threads: "
          f"{os.cpu_count()} cores")
    for mode, label in (("bare", "bare transformers forward, b64"),
                        ("annotate", "annotate --model (batch 256)"),
                        ("annotate-b64", "annotate --model --batch-size 64"),
                        ("annotate-int8", "annotate --model --quantize")):
        r = results[mode]
        print(f"{label:34s}: {r['docs_per_s']:6.1f} comments/s  ({r['seconds']:5.1f} s, "
              f"x{r['docs_per_s'] / bare:.2f} of bare, peak RSS {r['peak_rss_mb']:.0f} MB)")
    ratio = results["annotate"]["docs_per_s"] / bare
    print(f"target annotate >= 1.3x bare: {'met' if ratio >= 1.3 else 'NOT met'} (x{ratio:.2f})")
    speedup = results["annotate-int8"]["docs_per_s"] / results["annotate"]["docs_per_s"]
    print(f"--quantize speed-up: x{speedup:.2f}")
    for tier in results["gold"]["tiers"]:
        f32 = results["gold"]["tiers"][tier]["macro_f1"]
        int8 = results["gold-int8"]["tiers"][tier]["macro_f1"]
        print(f"dev-gold macro-F1 {tier:10s}: {f32:.3f} -> {int8:.3f} with --quantize "
              f"({int8 - f32:+.3f})")
    print(f"training ({card['examples']['train']} train + {card['examples']['dev']} dev "
          f"examples, {card['epochs']} epochs): {card['training_seconds']:.0f} s, peak RSS "
          f"{card.get('peak_rss_mb', 'n/a')} MB (from the model card)")
    if args.json:
        args.json.write_text(json.dumps({"slice": n, **results, "training": {
            "seconds": card["training_seconds"], "peak_rss_mb": card.get("peak_rss_mb")}},
            indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
