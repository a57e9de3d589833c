"""A deterministic stand-in for ``comet-score``, for the external-metric tests.

``python fake_metric_scorer.py -s SRC -t HYP -r REF [--to_json OUT] [--print lines|jsonl|comet]
[--calls FILE]`` scores each segment by :func:`score` (full precision) and prints comet-score's
stdout lines (``FILE<TAB>Segment i<TAB>score: x.xxxx``, then ``FILE<TAB>score: x.xxxx``) or,
with ``--print``, plain numbers or JSON lines; ``--to_json`` writes comet-score's JSON file.
``--calls FILE`` appends one line per run and per segment scored, so tests can count the work.
``FAKE_SCORER_FAULT`` makes it misbehave: ``exit``, ``fewer``, ``more``, ``word``, ``sleep``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def score(source: str, hyp: str, ref: str) -> float:
    """Character Jaccard of candidate and reference, nudged by the source length."""
    a, b = set(hyp), set(ref)
    return len(a & b) / (len(a | b) or 1) + len(source) / 1e6


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-s", dest="src")
    ap.add_argument("-t", dest="hyp", required=True)
    ap.add_argument("-r", dest="ref")
    ap.add_argument("--to_json")
    ap.add_argument("--print", dest="fmt", default="comet")
    ap.add_argument("--calls")
    args = ap.parse_args()

    def read(path: str | None, n: int | None = None) -> list[str]:
        if path is None:
            return [""] * (n or 0)
        with open(path, encoding="utf-8") as fh:
            return fh.read().split("\n")[:-1]

    hyps = read(args.hyp)
    srcs, refs = read(args.src, len(hyps)), read(args.ref, len(hyps))
    scores = [score(s, h, r) for s, h, r in zip(srcs, hyps, refs, strict=True)]
    if args.calls:
        with open(args.calls, "a", encoding="utf-8") as fh:
            fh.write(f"run {len(hyps)}\n")
    fault = os.environ.get("FAKE_SCORER_FAULT", "")
    if fault == "exit":
        print("RuntimeError: CUDA out of memory", file=sys.stderr)
        return 3
    if fault == "sleep":
        time.sleep(60)
    if fault == "fewer":
        scores = scores[:-1]
    if fault == "more":
        scores = [*scores, 0.5]
    if args.to_json:
        records = [
            {"src": s, "mt": h, "ref": r, "COMET": x}
            for s, h, r, x in zip(srcs, hyps, refs, scores, strict=False)
        ]
        with open(args.to_json, "w", encoding="utf-8") as fh:
            json.dump({args.hyp: records}, fh, ensure_ascii=False, indent=4)
    for i, x in enumerate(scores):
        text = "oops" if fault == "word" and i == 1 else None
        if args.fmt == "lines":
            print(text or repr(x))
        elif args.fmt == "jsonl":
            print(json.dumps({"score": text or x}))
        else:
            print(f"{args.hyp}\tSegment {i}\tscore: {text or format(x, '.4f')}")
    if args.fmt == "comet":
        mean = sum(scores) / len(scores) if scores else 0.0
        print(f"{args.hyp}\tscore: {mean:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
