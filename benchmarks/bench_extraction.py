"""Benchmark: sacrebleu's per-segment statistics extraction vs ``evalkit.fastextract``.

Synthetic zh and en corpora (fixed seed, Zipfian vocabulary, log-normal sentence lengths,
hypotheses as noisy copies of the references) of each ``--sizes`` entry, plus every WMT22 system
of en-zh (``-tok zh``) and zh-en (``13a``) when ``../shared/data/wmt22`` sits next to the repo.
Every case runs in a fresh subprocess per implementation, so timings start cold (apart from a
one-segment warm-up that builds lookup tables) and peak RSS is that process's own ``VmHWM``.
Times are CPU seconds (robust to other load on a shared machine); the optional process pool
(``--jobs``) is timed by the wall clock. The arrays are compared with ``np.array_equal``.

When sacrebleu would take longer than ``--sacrebleu-budget`` seconds (estimated from the
previous size), it runs on a random sample of ``--sample`` segments instead: its time is then
extrapolated linearly (marked ``~``) and the fast rows of those segments are checked.

    python benchmarks/bench_extraction.py --quick
    python benchmarks/bench_extraction.py --sizes 10000,100000,1000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WMT22 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wmt22"
METRICS = ("bleu", "chrf", "chrf++")
TOKENIZE = {"en": "13a", "zh": "zh"}

# --- synthetic corpora ------------------------------------------------------------------------

_EN_FUNCTION = (
    "the of and to a in is that for it was on with as by at from be this are have "
    "not or an but which were has its their they been will more one also had who would"
).split()
_EN_SYLLABLES = (
    "ka to ri men sa ul ex pro con tion ing er al ly de re in an on at es or ter ment ness "
    "ver ble st ch th gov pol eco nom ic ist ure ous ive age ance vis port form"
).split()
_EN_EXTRA = ["3.5", "1,000", "2019", "12-15", "$20", "45%", "U.S.", "e-mail", "well-known"]
_ZH_EXTRA = ["2019年", "5G", "AI", "3.5%", "1,000", "GPU", "“", "”", "、", "（", "）"]


def _zipf(rng: np.random.Generator, vocab_size: int, count: int, s: float = 1.1) -> np.ndarray:
    weights = 1.0 / (np.arange(vocab_size) + 2.7) ** s
    cdf = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cdf, rng.random(count)), vocab_size - 1)


def _vocabulary(lang: str, rng: np.random.Generator) -> np.ndarray:
    if lang == "en":
        words = set(_EN_FUNCTION)
        while len(words) < 30_000:
            n = int(rng.integers(1, 5))
            words.add("".join(rng.choice(_EN_SYLLABLES, n)))
        vocab = _EN_FUNCTION + sorted(words - set(_EN_FUNCTION))
        vocab[200:200] = _EN_EXTRA
    else:
        chars = rng.choice(np.arange(0x4E00, 0x9FA6), 4000, replace=False)
        cidx = _zipf(rng, chars.size, 3 * 40_000)
        words = set()
        i = 0
        while len(words) < 30_000:
            n = int(rng.integers(1, 4))
            words.add("".join(chr(c) for c in chars[cidx[i : i + n]]))
            i = (i + n) % (cidx.size - 4)
        vocab = ["的", "是", "在", "了", "和"] + sorted(words)
        vocab[100:100] = _ZH_EXTRA
    return np.array(vocab, dtype=object)


def _sentences(ids: np.ndarray, bounds: np.ndarray, vocab: np.ndarray, lang: str) -> list[str]:
    words = vocab[ids]
    comma, stop = ("，", "。") if lang == "zh" else (",", ".")
    out = []
    sep = "" if lang == "zh" else " "
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        s = sep.join(words[a:b])
        if lang == "en" and s:
            s = s[0].upper() + s[1:]
        out.append(s.replace(" \x01", comma).replace("\x01", comma) + stop if s else "")
    return out


def make_corpus(lang: str, n: int, seed: int = 12345) -> tuple[list[str], list[str]]:
    """``n`` (hypothesis, reference) pairs; hypotheses are noisy copies of the references.

    Generated in pieces of 100k segments (each with its own derived seed) to bound memory.
    """
    vocab = _vocabulary(lang, np.random.default_rng([seed, lang == "zh"]))
    vocab = np.append(vocab, "\x01")  # a comma marker, joined to the previous word
    hyps: list[str] = []
    refs: list[str] = []
    for piece, start in enumerate(range(0, n, 100_000)):
        rng = np.random.default_rng([seed, lang == "zh", piece + 1])
        h, r = _corpus_piece(lang, min(100_000, n - start), vocab, rng)
        hyps += h
        refs += r
    return hyps, refs


def _corpus_piece(
    lang: str, n: int, vocab: np.ndarray, rng: np.random.Generator
) -> tuple[list[str], list[str]]:
    comma_id = vocab.size - 1
    median = 22 if lang == "en" else 17
    lengths = np.clip(rng.lognormal(np.log(median), 0.5, n), 1, 150).astype(np.int64)
    lengths[rng.random(n) < 0.003] = 0  # a few empty lines
    ref_ids = _zipf(rng, vocab.size - 1, int(lengths.sum()))
    ref_ids[rng.random(ref_ids.size) < 0.06] = comma_id
    # Noise: substitute 10 %, drop 5 %, insert after 5 %, and swap some neighbours.
    hyp_ids = ref_ids.copy()
    sub = rng.random(hyp_ids.size) < 0.10
    hyp_ids[sub] = _zipf(rng, vocab.size - 1, int(sub.sum()))
    swap = np.flatnonzero(rng.random(hyp_ids.size - 1) < 0.03)
    hyp_ids[swap], hyp_ids[swap + 1] = hyp_ids[swap + 1], hyp_ids[swap].copy()
    copies = np.ones(hyp_ids.size, dtype=np.int64)
    roll = rng.random(hyp_ids.size)
    copies[roll < 0.05] = 0
    copies[roll > 0.95] = 2
    hyp_seg = np.repeat(np.repeat(np.arange(n), lengths), copies)
    hyp_ids = np.repeat(hyp_ids, copies)
    dup = np.flatnonzero(np.diff(np.repeat(np.arange(copies.size), copies), prepend=-1) == 0)
    hyp_ids[dup] = _zipf(rng, vocab.size - 1, dup.size)
    ref_bounds = np.concatenate([[0], np.cumsum(lengths)])
    hyp_bounds = np.searchsorted(hyp_seg, np.arange(n + 1))
    return (
        _sentences(hyp_ids, hyp_bounds, vocab, lang),
        _sentences(ref_ids, ref_bounds, vocab, lang),
    )


# --- one measurement, in a child process -------------------------------------------------------


def _status_mb(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in MB.

    Not ``getrusage``: on Linux ``ru_maxrss`` survives ``execve``, so a child would report the
    driver's own peak (e.g. a 1M-segment corpus held at fork time) instead of its own.
    """
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _read(path: str) -> list[str]:
    from evalkit._io import read_lines

    return list(read_lines(path))


def _extractor(impl: str, metric: str, tokenize: str, jobs: int):
    if impl == "sacrebleu":
        from sacrebleu.metrics import BLEU, CHRF

        def run(h: list[str], r: list[list[str]]) -> np.ndarray:
            if metric == "bleu":
                m = BLEU(tokenize=tokenize)
            else:
                m = CHRF(word_order=2 if metric == "chrf++" else 0)
            return np.array(m._extract_corpus_statistics(h, r), dtype=np.int64)

        return run
    from evalkit.fastextract import bleu_stats, chrf_stats, extract_parallel

    fn = bleu_stats if metric == "bleu" else chrf_stats
    kw = {"tokenize": tokenize} if metric == "bleu" else {"word_order": 2 * (metric == "chrf++")}

    def run_fast(h: list[str], r: list[list[str]]) -> np.ndarray:
        if jobs > 1:
            return extract_parallel(fn, h, r, jobs=jobs, chunk_size=max(1, len(h) // jobs), **kw)
        return fn(h, r, **kw)

    return run_fast


def child(spec: dict) -> dict:
    """Extract statistics for every system of ``spec``; save arrays; report time and memory."""
    refs = [_read(p) for p in spec["refs"]]
    systems = [_read(p) for p in spec["systems"]]
    sample = np.load(spec["sample"]) if spec.get("sample") else None
    if sample is not None:
        refs = [[r[i] for i in sample] for r in refs]
        systems = [[h[i] for i in sample] for h in systems]
    run = _extractor(spec["impl"], spec["metric"], spec["tokenize"], spec.get("jobs", 1))
    t0 = time.perf_counter()
    run(systems[0][:1], [r[:1] for r in refs])  # imports, lookup tables
    warmup = time.perf_counter() - t0
    rss_before = _status_mb("VmRSS")
    cpu = wall = 0.0
    for k, hyps in enumerate(systems):
        c0, t0 = time.process_time(), time.perf_counter()
        stats = run(hyps, refs)
        cpu += time.process_time() - c0
        wall += time.perf_counter() - t0
        np.save(Path(spec["out"]) / f"{k}.npy", stats)
    peak = _status_mb("VmHWM")
    # CPU time of a single process is robust to other load on a shared machine; a process pool
    # can only be judged by wall-clock time.
    seconds = wall if spec.get("jobs", 1) > 1 else cpu
    return {
        "seconds": seconds,
        "wall": wall,
        "warmup": warmup,
        "rss_before": rss_before,
        "rss_peak": peak,
    }


def _spawn(spec: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode:
        raise SystemExit(f"child failed: {spec}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the driver --------------------------------------------------------------------------------


def _case(
    label: str,
    lang: str,
    metric: str,
    systems: list[str],
    refs: list[str],
    n_segments: int,
    work: Path,
    sample: np.ndarray | None,
    jobs: int,
) -> dict:
    tokenize = TOKENIZE[lang]
    row = {"label": label, "lang": lang, "metric": metric, "n": n_segments * len(systems)}
    results = {}
    impls = ["sacrebleu", "fast"] + (["parallel"] if jobs > 1 else [])
    for impl in impls:
        out = work / f"{label}-{metric}-{impl}"
        out.mkdir(parents=True, exist_ok=True)
        spec = {
            "impl": "fast" if impl == "parallel" else impl,
            "metric": metric,
            "tokenize": tokenize,
            "systems": systems,
            "refs": refs,
            "out": str(out),
            "jobs": jobs if impl == "parallel" else 1,
        }
        if impl == "sacrebleu" and sample is not None:
            np.save(work / "sample.npy", sample)
            spec["sample"] = str(work / "sample.npy")
        results[impl] = _spawn(spec)
    same = True
    for k in range(len(systems)):
        fast = np.load(work / f"{label}-{metric}-fast" / f"{k}.npy")
        slow = np.load(work / f"{label}-{metric}-sacrebleu" / f"{k}.npy")
        same &= np.array_equal(fast[sample] if sample is not None else fast, slow)
        if jobs > 1:
            par = np.load(work / f"{label}-{metric}-parallel" / f"{k}.npy")
            same &= np.array_equal(par, fast)
    slow_s = results["sacrebleu"]["seconds"]
    if sample is not None:
        slow_s *= n_segments / sample.size
    row.update(
        slow_s=slow_s,
        fast_s=results["fast"]["seconds"],
        par_s=results["parallel"]["seconds"] if jobs > 1 else None,
        slow_rss=results["sacrebleu"]["rss_peak"],
        slow_base=results["sacrebleu"]["rss_before"],
        fast_rss=results["fast"]["rss_peak"],
        fast_base=results["fast"]["rss_before"],
        warmup=results["fast"]["warmup"],
        sampled=None if sample is None else int(sample.size),
        identical=bool(same),
    )
    return row


def _format(rows: list[dict], jobs: int) -> str:
    head = (
        f"{'metric':7} {'corpus':22} {'segments':>9} {'sacrebleu s':>12} {'seg/s':>9} "
        f"{'fast s':>8} {'seg/s':>9} {'speed-up':>9} "
        + (f"{f'{jobs} procs s':>10} " if jobs > 1 else "")
        + f"{'peak RSS MB: sacrebleu':>22} {'fast':>12}  identical"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        approx = "~" if r["sampled"] else " "
        par = f"{r['par_s']:10.2f} " if jobs > 1 else ""
        ident = "yes" if r["identical"] else "NO"
        if r["sampled"]:
            ident += f" ({r['sampled']}-seg sample)"
        rss_sb = f"{r['slow_rss']:.0f} (+{r['slow_rss'] - r['slow_base']:.0f})"
        rss_sb += "*" if r["sampled"] else " "
        rss_fast = f"{r['fast_rss']:.0f} (+{r['fast_rss'] - r['fast_base']:.0f}) "
        lines.append(
            f"{r['metric']:7} {r['label']:22} {r['n']:9d} {approx}{r['slow_s']:11.2f} "
            f"{approx}{r['n'] / r['slow_s']:8.0f} {r['fast_s']:8.2f} {r['n'] / r['fast_s']:9.0f} "
            f"{approx}{r['slow_s'] / r['fast_s']:7.1f}x {par}{rss_sb:>22} "
            f"{rss_fast:>12}  {ident}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated segment counts")
    parser.add_argument("--quick", action="store_true", help="2000 segments, 2 WMT systems")
    parser.add_argument("--metrics", default=",".join(METRICS))
    parser.add_argument("--langs", default="en,zh")
    parser.add_argument("--jobs", type=int, default=1, help="also time extract_parallel")
    parser.add_argument("--sacrebleu-budget", type=float, default=60.0)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--no-wmt", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0

    sizes = [2000] if args.quick else [int(s) for s in args.sizes.split(",")]
    metrics = args.metrics.split(",")
    langs = args.langs.split(",")
    rows: list[dict] = []
    print("command: python " + " ".join([Path(__file__).name, *sys.argv[1:]]), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-extraction-") as tmp:
        work = Path(tmp)
        per_segment: dict[tuple[str, str], float] = {}
        rng = np.random.default_rng(0)
        for lang in langs:
            for n in sizes:
                t0 = time.perf_counter()
                hyps, refs = make_corpus(lang, n)
                corpus = work / f"{lang}-{n}"
                corpus.mkdir()
                (corpus / "hyp.txt").write_text("\n".join(hyps) + "\n", encoding="utf-8")
                (corpus / "ref.txt").write_text("\n".join(refs) + "\n", encoding="utf-8")
                del hyps, refs
                print(f"generated {lang} x {n} in {time.perf_counter() - t0:.1f}s", flush=True)
                for metric in metrics:
                    cost = per_segment.get((lang, metric))
                    sample = None
                    if cost is not None and cost * n > args.sacrebleu_budget and n > args.sample:
                        sample = np.sort(rng.choice(n, args.sample, replace=False))
                    row = _case(
                        f"synthetic {lang}",
                        lang,
                        metric,
                        [str(corpus / "hyp.txt")],
                        [str(corpus / "ref.txt")],
                        n,
                        work,
                        sample,
                        args.jobs,
                    )
                    per_segment[(lang, metric)] = row["slow_s"] / n
                    rows.append(row)
                    print(_format([row], args.jobs).splitlines()[-1], flush=True)
        if WMT22.is_dir() and not args.no_wmt:
            for pair, lang in (("en-zh", "zh"), ("zh-en", "en")):
                systems = sorted((WMT22 / pair / "systems").glob(f"*.{lang}"))
                if args.quick:
                    systems = systems[:2]
                ref = WMT22 / pair / f"ref.{lang}"
                n = len(_read(str(ref)))
                for metric in metrics:
                    row = _case(
                        f"wmt22 {pair} ({len(systems)} sys)",
                        lang,
                        metric,
                        [str(p) for p in systems],
                        [str(ref)],
                        n,
                        work,
                        None,
                        args.jobs,
                    )
                    rows.append(row)
                    print(_format([row], args.jobs).splitlines()[-1], flush=True)
    print()
    print(_format(rows, args.jobs))
    print(
        "\nTimes are CPU seconds of extraction only, one process each (wall-clock for the "
        "process pool); the fast path's\nlookup tables are built in a one-segment warm-up "
        f"(~{max(r['warmup'] for r in rows):.1f}s per process).\n~ = sacrebleu run on a random "
        "sample and extrapolated linearly; * = RSS of that sample run.\n"
        "Tokenizer: 13a for en, zh for zh. Peak RSS is the child process's VmHWM (interpreter "
        "and corpus included);\n(+N) is the growth during extraction."
    )
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
