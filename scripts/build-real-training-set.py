#!/usr/bin/env python3
"""Build the real training set from the coders' sheets: ids and labels only, no texts.

Reads codebooks/llm-mental-health/coding/: `assignment.jsonl` (every drawn id, the part it
was drawn in, its coders, whether it is double-coded), one `coder-NN.jsonl` sheet per coder,
and `adjudicated.jsonl` (the adjudicator's codes for double-coded items the two coders
disagreed on). Writes:

- codebooks/llm-mental-health/train-real.jsonl: one line per coded id with its codes and
  `meta` (part drawn in, coders, adjudicated or not);
- coding/double-a.jsonl and coding/double-b.jsonl: the two independent codings of the
  double-coded items, for `themekit agreement`;
- with --disagreements FILE: the ids the two coders disagreed on and no adjudication
  covers yet (what the adjudicator is to code).

`--check` writes nothing and exits 1 when the files on disk differ from what the sheets
give (the test suite runs it, so the committed set cannot drift from its sheets).

An assigned id that its coder has not coded is reported and left out, never guessed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[1] / "codebooks" / "llm-mental-health"


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def codes_of(row: dict) -> dict:
    return {"experience": row["experience"], "attitude": row["attitude"],
            "themes": sorted(row.get("themes", [])), "flags": sorted(row.get("flags", []))}


def read_sheets(coding: Path, assignment: list[dict]) -> dict[str, dict[str, dict]]:
    """coder → id → codes, refusing ids a coder was not given or coded twice."""
    assigned: dict[str, set[str]] = {}
    for item in assignment:
        for coder in item["coders"]:
            assigned.setdefault(coder, set()).add(item["id"])
    sheets: dict[str, dict[str, dict]] = {}
    for coder, ids in sorted(assigned.items()):
        path = coding / f"{coder}.jsonl"
        sheet: dict[str, dict] = {}
        for number, row in enumerate(read_jsonl(path) if path.is_file() else [], 1):
            if row["id"] not in ids:
                sys.exit(f"{path}, line {number}: id {row['id']!r} was not assigned to {coder}")
            if row["id"] in sheet:
                sys.exit(f"{path}, line {number}: id {row['id']!r} coded twice")
            sheet[row["id"]] = codes_of(row)
        sheets[coder] = sheet
    return sheets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--disagreements", type=Path,
                        help="write the double-coded ids still needing adjudication here")
    parser.add_argument("--check", action="store_true",
                        help="compare with the files on disk instead of writing them")
    args = parser.parse_args()
    coding = FOLDER / "coding"
    assignment = read_jsonl(coding / "assignment.jsonl")
    sheets = read_sheets(coding, assignment)
    adjudicated_path = coding / "adjudicated.jsonl"
    adjudicated = ({r["id"]: codes_of(r) for r in read_jsonl(adjudicated_path)}
                   if adjudicated_path.is_file() else {})
    rows, double_a, double_b, pending, missing = [], [], [], [], 0
    for item in assignment:
        coded = [(c, sheets[c][item["id"]]) for c in item["coders"] if item["id"] in sheets[c]]
        missing += len(item["coders"]) - len(coded)
        if not coded:
            continue
        meta = {"drawn": item["part"], "coders": [c for c, _ in coded], "adjudicated": False}
        codes = coded[0][1]
        if len(coded) == 2:
            (a, first), (b, second) = coded
            double_a.append({"id": item["id"], **first, "coder": a})
            double_b.append({"id": item["id"], **second, "coder": b})
            if first != second:
                if item["id"] not in adjudicated:
                    pending.append(item["id"])
                    continue
                codes, meta["adjudicated"] = adjudicated[item["id"]], True
        rows.append({"id": item["id"], **codes, "meta": meta})
    outputs = ((FOLDER / "train-real.jsonl", rows), (coding / "double-a.jsonl", double_a),
               (coding / "double-b.jsonl", double_b))
    if args.check:
        stale = [str(path) for path, lines in outputs
                 if not path.is_file() or read_jsonl(path) != lines]
        if stale:
            sys.exit(f"out of date with the coders' sheets: {', '.join(stale)}; rerun "
                     "scripts/build-real-training-set.py")
        print("up to date")
        return
    for path, lines in outputs:
        with open(path, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(line) + "\n" for line in lines)
    if args.disagreements:
        args.disagreements.write_text("".join(f"{i}\n" for i in pending), encoding="utf-8")
    print(f"{len(rows)} coded ids → {FOLDER / 'train-real.jsonl'}; {len(double_a)} "
          f"double-coded; {len(pending)} disagreements awaiting adjudication (left out); "
          f"{missing} assigned codings not yet done")


if __name__ == "__main__":
    main()
