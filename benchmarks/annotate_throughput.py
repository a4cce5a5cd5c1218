"""Rules-only `annotate` throughput and memory on the real corpus.

Prints comments/s of `annotate_file` (read, code, write JSONL) next to a bare
`spacy.blank("en")` tokenization of the same texts, their ratio, and the peak RSS of
annotate on the corpus and on the corpus repeated five times. A third measurement, the
floor, runs `annotate_file` with a pipeline that codes nothing (read, tokenize, write each
record back): annotate's time less the floor's is what the codebook itself costs. Each measurement runs in a
fresh process so that its peak RSS is its own. Throughput is measured `--repeat` times,
tokenization and annotate taking turns, and the fastest run of each counts (as `timeit`
does): on a shared machine the slower runs measure the neighbours.

    python benchmarks/annotate_throughput.py [--corpus ../shared/data/comments-10k.jsonl]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "comments-10k.jsonl"


class _NoCoding:
    """What the floor's pipeline leaves in `doc._.themekit`: a coding with nothing in it."""

    def to_json(self) -> dict:
        return {}


def _floor_pipeline():
    """`spacy.blank("en")` and a component that codes nothing, for annotate's floor."""
    import spacy
    from spacy.language import Language

    import themekit.nlp.component  # noqa: F401 (registers the doc._.themekit extension)

    @Language.component("no_coding")
    def no_coding(doc):
        doc._.themekit = _NoCoding()
        return doc

    nlp = spacy.blank("en")
    nlp.add_pipe("no_coding")
    return nlp


def child(mode: str, corpus: str) -> dict:
    import spacy

    texts = [json.loads(line)["text"] for line in open(corpus, encoding="utf-8")]
    if mode == "tokenize":
        nlp = spacy.blank("en")
        start = time.perf_counter()
        for _ in nlp.pipe(texts, batch_size=256):
            pass
    else:
        from themekit.annotate import annotate_file

        if mode == "floor":
            nlp = _floor_pipeline()
        else:
            nlp = spacy.blank("en")
            # rules only: without it the codebook's shipped model codes (model_throughput.py)
            nlp.add_pipe("themekit", config={"rules_only": True})
            nlp("warm up the matchers")
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            summary = annotate_file(nlp, corpus, f"{tmp}/coded.jsonl")
            assert summary.balanced
    elapsed = time.perf_counter() - start
    return {"docs": len(texts), "seconds": elapsed, "docs_per_s": len(texts) / elapsed,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure(mode: str, corpus: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--corpus", str(corpus)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _micros(run: dict) -> float:
    return 1e6 / run["docs_per_s"]


def _spread(runs: list[dict]) -> str:
    return "/".join(f"{run['docs_per_s']:.0f}" for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--child", choices=["tokenize", "floor", "annotate"],
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.corpus.is_file():
        sys.exit(f"corpus not found: {args.corpus} (pass --corpus)")
    if args.child:
        print(json.dumps(child(args.child, str(args.corpus))))
        return

    bare_runs, floor_runs, coded_runs = [], [], []
    for _ in range(args.repeat):
        bare_runs.append(measure("tokenize", args.corpus))
        floor_runs.append(measure("floor", args.corpus))
        coded_runs.append(measure("annotate", args.corpus))
    bare, floor, coded = (max(runs, key=lambda run: run["docs_per_s"])
                          for runs in (bare_runs, floor_runs, coded_runs))
    with tempfile.TemporaryDirectory() as tmp:
        five = Path(tmp) / "corpus-x5.jsonl"
        lines = args.corpus.read_text(encoding="utf-8").splitlines(keepends=True)
        five.write_text("".join(lines * 5), encoding="utf-8")
        coded5 = measure("annotate", five)

    ratio = coded["docs_per_s"] / bare["docs_per_s"]
    growth = coded5["peak_rss_mb"] / coded["peak_rss_mb"] - 1
    tokenizing, codebook = _micros(bare), _micros(coded) - _micros(floor)
    print(f"corpus: {args.corpus} ({coded['docs']} comments)")
    print(f"best of {args.repeat} runs each (all runs, comments/s: tokenization "
          f"{_spread(bare_runs)}, floor {_spread(floor_runs)}, annotate {_spread(coded_runs)})")
    print(f"bare spacy.blank('en') tokenization : {bare['docs_per_s']:8.0f} comments/s "
          f"({tokenizing:.0f} µs a comment)")
    print(f"annotate floor, nothing coded        : {floor['docs_per_s']:8.0f} comments/s "
          f"({_micros(floor):.0f} µs: read, tokenize, write)")
    print(f"themekit annotate, rules only        : {coded['docs_per_s']:8.0f} comments/s "
          f"({_micros(coded):.0f} µs; {coded['seconds']:.1f} s)")
    print(f"ratio annotate / tokenization        : {ratio:8.2f}   (target >= 0.5)")
    print(f"codebook's own cost (annotate-floor) : {codebook:8.0f} µs a comment, "
          f"{codebook / tokenizing:.2f}x tokenizing")
    print(f"peak RSS annotate 1x                 : {coded['peak_rss_mb']:8.0f} MB")
    print(f"peak RSS annotate 5x ({coded5['docs']} comments): {coded5['peak_rss_mb']:8.0f} MB "
          f"({growth:+.1%}, target within 15%)")


if __name__ == "__main__":
    main()
