"""Whole `themekit annotate` jobs, one process against Dask workers, on the real corpus.

Each run is the command a user types, in a fresh process, start-up and shutdown included:
one process (torch free to use every core), then `--workers 1` and `--workers 2` (one
torch thread each), rules only and with the shipped model. Prints wall seconds, comments a
second, the speed-up over one process, the peak memory of each worker (as annotate prints
it) and of the driver (the one process, or the process that reads, writes and schedules),
and whether every output is byte-for-byte the one-process
output. The runs of a setting take turns `--repeat` times and the fastest counts (as
`timeit` does): on a shared machine the slower runs measure the neighbours.

    python benchmarks/scale_out.py [--corpus ../shared/data/comments-10k.jsonl]
                                   [--limit N] [--model-limit 2000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "comments-10k.jsonl"
THEMEKIT = str(Path(sys.executable).with_name("themekit"))
WRAPPER = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
           "sys.stderr.write('\\nMAXRSS %d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN)"
           ".ru_maxrss); sys.exit(rc)")
"""Runs the command and reports its peak resident memory (workers are the children of a
forkserver, which is not waited for, so they are not counted here)."""
WORKER_MEMORY = re.compile(r"Dask worker\(s\), peak memory (.*)")


def run(corpus: Path, out: Path, args: list[str]) -> dict:
    command = [sys.executable, "-c", WRAPPER, THEMEKIT, "annotate", str(corpus), "-o",
               str(out), *args]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(command[3:])} failed:\n{done.stderr}")
    workers = WORKER_MEMORY.search(done.stderr)
    return {"seconds": seconds,
            "driver_mb": int(re.search(r"MAXRSS (\d+)", done.stderr).group(1)) / 1024,
            "worker_memory": workers.group(1) if workers else "-"}


def first_lines(corpus: Path, limit: int | None, folder: Path) -> tuple[Path, int]:
    """The corpus, or its first `limit` lines in a temporary file; and its line count."""
    if limit is None:
        return corpus, sum(1 for _ in corpus.open("rb"))
    path = folder / f"first-{limit}.jsonl"
    with corpus.open("rb") as source, path.open("wb") as out:
        out.writelines(itertools.islice(source, limit))
    return path, limit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, help="rules-only runs: the first N comments")
    parser.add_argument("--model-limit", type=int, default=2000,
                        help="model runs: the first N comments (0: all) [default: 2000]")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    settings = {"rules only": (["--rules-only"], args.limit),
                "with the model": ([], args.model_limit or None)}
    layouts = {"1 process": [], "--workers 1": ["--workers", "1"],
               "--workers 2": ["--workers", "2"]}
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for setting, (flags, limit) in settings.items():
            corpus, lines = first_lines(args.corpus, limit, folder)
            best: dict[str, dict] = {}
            for _ in range(args.repeat):
                for layout, extra in layouts.items():
                    out = folder / f"{len(figures)}-{layout.replace(' ', '')}.jsonl"
                    result = run(corpus, out, [*flags, *extra])
                    result["output"] = out
                    if layout not in best or result["seconds"] < best[layout]["seconds"]:
                        best[layout] = result
            reference = best["1 process"]
            print(f"\n{setting}: {lines:,} comments of {args.corpus.name}, best of "
                  f"{args.repeat}")
            print(f"{'':12} {'seconds':>8} {'comments/s':>10} {'speed-up':>8} "
                  f"{'driver memory':>13}  worker peak memory   output")
            for layout, result in best.items():
                same = result["output"].read_bytes() == reference["output"].read_bytes()
                speedup = reference["seconds"] / result["seconds"]
                print(f"{layout:12} {result['seconds']:8.1f} {lines / result['seconds']:10,.0f} "
                      f"{speedup:7.2f}x {result['driver_mb']:10,.0f} MB  "
                      f"{result['worker_memory']:20} {'identical' if same else 'DIFFERENT'}")
                figures.append({"setting": setting, "layout": layout, "comments": lines,
                                "seconds": round(result["seconds"], 2),
                                "speedup": round(speedup, 3),
                                "driver_mb": round(result["driver_mb"]),
                                "worker_memory": result["worker_memory"],
                                "identical": same})
    print(f"\n{os.cpu_count()} CPU cores; load average now "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
