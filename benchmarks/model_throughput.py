"""Throughput and memory of model annotate against a bare transformers forward pass.

On a fixed slice of ../shared/data/comments-10k.jsonl (every k-th line, so every source is
in it; `--slice 0` for the whole corpus) it prints comments/s and peak RSS of:

    bare forward      transformers AutoModel on the same base encoder, batch 64, truncation
                      to 128 wordpieces, input order, torch.inference_mode (no tokens kept)
    annotate          themekit annotate_file with the model (read, tokenize, encoder,
                      heads or categorizer, rules, write JSONL), default batch size 256
    annotate b64      the same with batch size 64 (a smaller window to sort lengths in)
    annotate int8     the same as annotate, with --quantize

each timed twice: the coding loop alone, and the whole process (Python start, imports,
model load, coding), as a user waits for it. Then the dev-gold macro-F1 per tier with and
without --quantize, and the training time and peak RSS recorded in the model card. Each
measurement runs in a fresh process so its peak RSS is its own. Without --model it
measures the codebook's shipped default model, as `themekit annotate` runs it.

    python benchmarks/model_throughput.py                     # the shipped default model
    python benchmarks/model_throughput.py --model models/ft --slice 0
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
DEFAULT = "default"
MODES = ("bare", "annotate", "annotate-b64", "annotate-int8", "gold", "gold-int8")


def write_slice(corpus: Path, target: Path, size: int) -> int:
    lines = corpus.read_text(encoding="utf-8").splitlines(keepends=True)
    step = max(1, len(lines) // size) if size else 1
    chosen = lines[::step][:size] if size else lines
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

    from themekit.model.encoder import encoder_path

    base = model_card(model_dir)["base_model"]
    base = base.get("path") or encoder_path(base["name"])
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


def model_card(model: str) -> dict:
    """The card of a model folder, or of the codebook's shipped model for DEFAULT."""
    from themekit.model.card import read_card
    from themekit.plugins import registered_codebooks

    return read_card(registered_codebooks()["llm-mental-health"].model if model == DEFAULT
                     else model)


def annotate_seconds(model: str, slice_path: str, quantize: bool, batch_size: int) -> float:
    from themekit.annotate import annotate_file
    from themekit.codebook import load_codebook
    from themekit.nlp.pipeline import build_pipeline

    nlp = build_pipeline(load_codebook("llm-mental-health"), None if model == DEFAULT else model,
                         quantize=quantize)
    nlp("warm up the matchers and the transformer")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = annotate_file(nlp, slice_path, f"{tmp}/coded.jsonl", batch_size=batch_size)
        seconds = time.perf_counter() - start
    assert summary.balanced and summary.rejected == 0
    return seconds


def gold_scores(model: Path, quantize: bool) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    from accuracy import GOLD, gold_items, pipeline_labels, score

    from themekit.codebook import load_codebook
    from themekit.nlp.pipeline import build_pipeline

    codebook = load_codebook("llm-mental-health")
    ids, texts, gold = gold_items(codebook, GOLD)
    nlp = build_pipeline(codebook, None if str(model) == DEFAULT else model, quantize=quantize)
    return score(codebook, ids, pipeline_labels(nlp, texts), gold)


def measure(mode: str, model: str, slice_path: Path) -> dict:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--model", model,
                          "--slice-file", str(slice_path)], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"{mode} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {**result, "process_seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT,
                        help="A model directory from `themekit train` (default: the "
                        "codebook's shipped model, as `themekit annotate` uses it).")
    parser.add_argument("--slice", type=int, default=SLICE,
                        help="Comments to time (every k-th line); 0: the whole corpus.")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--slice-file", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.model, args.slice_file)))
        return
    if not CORPUS.is_file():
        print(f"skipped: {CORPUS} not found (the shared data sits beside the repository)")
        return
    card = model_card(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        slice_path = Path(tmp) / "slice.jsonl"
        n = write_slice(CORPUS, slice_path, args.slice)
        results = {mode: measure(mode, args.model, slice_path) for mode in MODES}
    bare, bare_process = results["bare"]["docs_per_s"], results["bare"]["process_seconds"]
    print(f"model: {args.model}; {n} comments of {CORPUS.name}; {os.cpu_count()} cores")
    for mode, label in (("bare", "bare transformers forward, b64"),
                        ("annotate", "annotate (batch 256)"),
                        ("annotate-b64", "annotate --batch-size 64"),
                        ("annotate-int8", "annotate --quantize")):
        r = results[mode]
        print(f"{label:31s}: {r['docs_per_s']:6.1f} comments/s ({r['seconds']:5.1f} s, "
              f"x{r['docs_per_s'] / bare:.2f} of bare); whole process {r['process_seconds']:5.1f}"
              f" s (x{bare_process / r['process_seconds']:.2f} of bare); peak RSS "
              f"{r['peak_rss_mb']:.0f} MB")
    for mode, floor in (("annotate", 1.3), ("annotate-int8", 2.0)):
        ratio = bare_process / results[mode]["process_seconds"]
        print(f"target {mode} >= {floor}x bare, whole process: "
              f"{'met' if ratio >= floor else 'NOT met'} (x{ratio:.2f})")
    speedup = results["annotate-int8"]["docs_per_s"] / results["annotate"]["docs_per_s"]
    print(f"--quantize speed-up: x{speedup:.2f}")
    for tier in results["gold"]["tiers"]:
        f32 = results["gold"]["tiers"][tier]["macro_f1"]
        int8 = results["gold-int8"]["tiers"][tier]["macro_f1"]
        print(f"dev-gold macro-F1 {tier:10s}: {f32:.3f} -> {int8:.3f} with --quantize "
              f"({int8 - f32:+.3f})")
    print(f"training ({card['examples']['train']} examples, {card.get('mode', 'finetune')}): "
          f"{card['training_seconds']:.0f} s, peak RSS {card.get('peak_rss_mb', 'n/a')} MB "
          "(from the model card)")
    if args.json:
        args.json.write_text(json.dumps({"slice": n, **results, "training": {
            "seconds": card["training_seconds"], "peak_rss_mb": card.get("peak_rss_mb")}},
            indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
