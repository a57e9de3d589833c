"""Benchmark: sacrebleu's TER statistics vs ``evalkit.fastter.ter_stats``.

Cases: generated English (default TER) and Chinese (``asian_support`` + ``normalized``, so each
character is a token) corpora of ``--segments`` lines — references of realistic length from a
Zipfian vocabulary, hypotheses as noisy copies with substitutions, deletions, insertions and
block moves (what TER's shifts repair) — plus, when ``../shared/data/wmt22`` sits next to the
repo, one system (the first by name) of zh-en (English target) and en-zh (Chinese target).
``--wmt-segments N`` limits the WMT22 cases to their first N segments (sacrebleu needs tens of
seconds per full system); the table then says so in the segment column.

Times are CPU seconds of this process for the single-process runs (robust to other load on a
shared machine) and wall-clock seconds for the ``--jobs`` process pool. The arrays are compared
with ``np.array_equal``.

    python benchmarks/bench_ter.py
    python benchmarks/bench_ter.py --segments 200 --wmt-segments 300 --jobs 2
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sacrebleu.metrics import TER

from evalkit.fastter import ter_stats

WMT22 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wmt22"
ZH_FLAGS = {"normalized": True, "asian_support": True}

_EN_WORDS = (
    "the of and to a in is that for it was on with as by at from be this are have not or an "
    "but which were has its their they been will more one also had who would said year new "
    "people government china market company data model report week state city first time"
).split()
_ZH_CHARS = "的是在了和中国人有这个上们来到时大地为子说生国年着就那要下以会可也你对能出"


def _zipf(rng: np.random.Generator, size: int, count: int) -> np.ndarray:
    weights = 1.0 / (np.arange(size) + 2.7) ** 1.1
    return rng.choice(size, count, p=weights / weights.sum())


def _vocabulary(lang: str, rng: np.random.Generator) -> list[str]:
    if lang == "en":
        extra = {
            "".join(rng.choice(list("etaoinshrdlcumwfgypb"), rng.integers(3, 9)))
            for _ in range(3000)
        }
        return _EN_WORDS + sorted(extra) + [",", ".", "U.S.", "3.5", "it's"]
    chars = [chr(c) for c in rng.choice(np.arange(0x4E00, 0x9FA6), 2500, replace=False)]
    return list(_ZH_CHARS) + chars + ["，", "。", "“", "”", "AI", "2022年"]


def make_corpus(lang: str, n: int, seed: int = 2022) -> tuple[list[str], list[str]]:
    """``n`` (hypothesis, reference) pairs: references ~22 words / ~45 characters."""
    rng = np.random.default_rng([seed, lang == "zh"])
    vocab = _vocabulary(lang, rng)
    sep = " " if lang == "en" else ""
    median = 22 if lang == "en" else 45
    hyps, refs = [], []
    for length in np.clip(rng.lognormal(np.log(median), 0.5, n), 1, 200).astype(int):
        ref = [vocab[i] for i in _zipf(rng, len(vocab), length)]
        hyp = list(ref)
        for _ in range(rng.poisson(0.15 * length)):
            roll = rng.random()
            pos = int(rng.integers(0, len(hyp) + 1))
            if roll < 0.25 and len(hyp) > 2:  # block move
                size = int(rng.integers(1, 8))
                block = hyp[pos : pos + size]
                del hyp[pos : pos + size]
                target = int(rng.integers(0, len(hyp) + 1))
                hyp[target:target] = block
            elif roll < 0.5 and hyp:
                del hyp[min(pos, len(hyp) - 1)]
            elif roll < 0.7:
                hyp.insert(pos, vocab[_zipf(rng, len(vocab), 1)[0]])
            elif hyp:
                hyp[min(pos, len(hyp) - 1)] = vocab[_zipf(rng, len(vocab), 1)[0]]
        hyps.append(sep.join(hyp))
        refs.append(sep.join(ref))
    return hyps, refs


def _wmt_system(pair: str, limit: int) -> tuple[str, list[str], list[str]] | None:
    folder = WMT22 / pair
    target = pair.split("-")[1]
    systems = sorted((folder / "systems").glob(f"*.{target}")) if folder.is_dir() else []
    if not systems:
        return None
    hyps = systems[0].read_text(encoding="utf-8").splitlines()
    refs = (folder / f"ref.{target}").read_text(encoding="utf-8").splitlines()
    if limit:
        hyps, refs = hyps[:limit], refs[:limit]
    return f"wmt22 {pair} {systems[0].stem}", hyps, refs


def _timed(fn: Callable[[], np.ndarray], clock: Callable[[], float]) -> tuple[float, np.ndarray]:
    start = clock()
    out = fn()
    return clock() - start, out


def run_case(
    name: str, hyps: list[str], refs: list[str], flags: dict, jobs: int, note: str
) -> dict:
    """Time sacrebleu, the fast path, and the fast path on ``jobs`` processes."""
    cpu = time.process_time
    t_ref, expected = _timed(
        lambda: np.array(TER(**flags)._extract_corpus_statistics(hyps, [refs]), dtype=np.float64),
        cpu,
    )
    t_fast, got = _timed(lambda: ter_stats(hyps, [refs], **flags), cpu)
    row = {
        "case": name,
        "segments": f"{len(hyps)}{note}",
        "sacrebleu": t_ref,
        "fast": t_fast,
        "identical": np.array_equal(got, expected),
    }
    if jobs > 1:
        t_jobs, got_jobs = _timed(
            lambda: ter_stats(hyps, [refs], jobs=jobs, **flags), time.perf_counter
        )
        row["jobs"] = t_jobs
        row["identical"] = row["identical"] and np.array_equal(got_jobs, expected)
    return row


def format_table(rows: list[dict], jobs: int) -> str:
    head = ["case", "segments", "sacrebleu s", "fast s", "speed-up"]
    if jobs > 1:
        head += [f"fast jobs={jobs} s (wall)", "speed-up"]
    head.append("identical")
    lines = [head]
    for r in rows:
        line = [r["case"], r["segments"], f"{r['sacrebleu']:.2f}", f"{r['fast']:.2f}"]
        line.append(f"{r['sacrebleu'] / r['fast']:.1f}x")
        if jobs > 1:
            line += [f"{r['jobs']:.2f}", f"{r['sacrebleu'] / r['jobs']:.1f}x"]
        line.append("yes" if r["identical"] else "NO")
        lines.append(line)
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    rendered = [
        " | ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines
    ]
    rendered.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(rendered)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=500, help="generated segments per language")
    parser.add_argument(
        "--wmt-segments", type=int, default=0, help="first N segments of each WMT22 system (0: all)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="also time ter_stats(jobs=N)")
    args = parser.parse_args(argv)
    cases = [
        ("generated en", *make_corpus("en", args.segments), {}, ""),
        ("generated zh (asian+norm)", *make_corpus("zh", args.segments), ZH_FLAGS, ""),
    ]
    for pair, flags in (("zh-en", {}), ("en-zh", ZH_FLAGS)):
        found = _wmt_system(pair, args.wmt_segments)
        if found is None:
            continue
        name, hyps, refs = found
        if flags:
            name += " (asian+norm)"
        note = " (first)" if args.wmt_segments and len(hyps) == args.wmt_segments else ""
        cases.append((name, hyps, refs, flags, note))
    shown = sys.argv[1:] if argv is None else argv
    print("command: python " + " ".join([f"benchmarks/{Path(__file__).name}", *shown]), flush=True)
    rows = [run_case(name, h, r, flags, args.jobs, note) for name, h, r, flags, note in cases]
    print(format_table(rows, args.jobs))
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
