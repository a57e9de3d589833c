"""Benchmark: ``evalkit score --stream`` on generated corpora of millions of segments.

Deterministic zh and en file pairs (one reference, one candidate; fixed seed, Zipfian words,
candidates as noisy copies, a tenth of the Chinese candidate lines in Traditional script so
normalization has work to do) are written to a temporary folder, then scored with BLEU + chrF
by the real console entry point in a subprocess under ``/usr/bin/time -v``. Reported: wall
time, segments per second, CPU seconds (user + system, workers included), peak RSS of the
largest process (``time -v``, else ``getrusage(RUSAGE_CHILDREN)``) and, sampled with psutil
when installed, of the whole process tree (the main process plus its ``--jobs`` workers).
The target: peak RSS < 2 GB at 1M segments.

    python benchmarks/bench_streaming.py                       # 1M segments, zh and en
    python benchmarks/bench_streaming.py --sizes 1000000,10000000 --jobs 2
    python benchmarks/bench_streaming.py --data-dir /tmp/evalkit-bench   # keep / reuse the files
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

BLOCK = 100_000
LIMIT_1M = 2 * 1024**3

# --- generated corpora ------------------------------------------------------------------------

_EN_FUNCTION = (
    "the of and to a in is that for it was on with as by at from be this are have not or an "
    "but which were has its their they been will more one also had who would"
).split()
_EN_SYLLABLES = (
    "ka to ri men sa ul ex pro con tion ing er al ly de re in an on at es or ter ment ness ver "
    "ble st ch th gov pol eco nom ic ist ure ous ive age ance vis port form"
).split()
_EN_EXTRA = ["3.5", "1,000", "2019", "U.S.", "e-mail", "well-known", "(see", "it's", '"so"', ","]


def _vocabulary(lang: str, rng: np.random.Generator) -> np.ndarray:
    """~20k words, most frequent first."""
    if lang == "en":
        words = list(dict.fromkeys(_EN_FUNCTION + _EN_EXTRA))
        seen = set(words)
        while len(words) < 20_000:
            k = int(rng.integers(1, 4))
            w = "".join(rng.choice(_EN_SYLLABLES, size=k))
            if w not in seen:
                seen.add(w)
                words.append(w.capitalize() if rng.random() < 0.1 else w)
        return np.array(words, dtype=object)
    from opencc import OpenCC

    t2s = OpenCC("t2s")
    pool = [chr(c) for c in rng.choice(np.arange(0x4E00, 0x9FA6), size=6000, replace=False)]
    chars = [
        c for c, s in zip(pool, t2s.convert("\n".join(pool)).split("\n"), strict=True) if c == s
    ]
    chars = chars[:3500]
    words, seen = [], set()
    while len(words) < 20_000:
        k = int(rng.choice([1, 2, 2, 2, 3]))
        w = "".join(rng.choice(chars, size=k))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return np.array(words, dtype=object)


def _zipf_ids(rng: np.random.Generator, vocab: int, count: int) -> np.ndarray:
    weights = 1.0 / (np.arange(vocab) + 2.7) ** 1.1
    cdf = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cdf, rng.random(count)), vocab - 1)


def _lines(words: np.ndarray, line_of: np.ndarray, n: int, sep: str, end: str) -> list[str]:
    flat = words.tolist()
    bounds = np.concatenate([[0], np.cumsum(np.bincount(line_of, minlength=n))]).tolist()
    return [sep.join(flat[a:b]) + end for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def write_pair(folder: Path, lang: str, n: int, seed: int = 2024) -> tuple[Path, Path]:
    """``ref.<lang>`` and ``hyp.<lang>`` of ``n`` lines, written block by block."""
    folder.mkdir(parents=True, exist_ok=True)
    ref_path, hyp_path = folder / f"ref.{lang}", folder / f"hyp.{lang}"
    stamp = folder / f".done-{lang}-{n}-{seed}"
    if stamp.exists() and ref_path.exists() and hyp_path.exists():
        return ref_path, hyp_path
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(lang, rng)
    sep, end = ("", "。") if lang == "zh" else (" ", " .")
    s2t = None
    if lang == "zh":
        from opencc import OpenCC

        s2t = OpenCC("s2t")
    with open(ref_path, "wb") as ref_f, open(hyp_path, "wb") as hyp_f:
        for start in range(0, n, BLOCK):
            m = min(BLOCK, n - start)
            lengths = np.clip(rng.lognormal(2.6, 0.5, size=m).astype(int), 1, 120)
            ids = _zipf_ids(rng, len(vocab), int(lengths.sum()))
            line_of = np.repeat(np.arange(m), lengths)
            ref = _lines(vocab[ids], line_of, m, sep, end)
            replace = rng.random(ids.size) < 0.15
            ids_h = np.where(replace, _zipf_ids(rng, len(vocab), ids.size), ids)
            keep = rng.random(ids.size) >= 0.08
            hyp = _lines(vocab[ids_h[keep]], line_of[keep], m, sep, end)
            if s2t is not None:  # a tenth of the lines in Traditional script
                pick = np.flatnonzero(rng.random(m) < 0.1).tolist()
                converted = s2t.convert("\n".join(hyp[i] for i in pick)).split("\n")
                for i, line in zip(pick, converted, strict=True):
                    hyp[i] = line
            ref_f.write(("\n".join(ref) + "\n").encode("utf-8"))
            hyp_f.write(("\n".join(hyp) + "\n").encode("utf-8"))
    stamp.touch()
    return ref_path, hyp_path


# --- measuring --------------------------------------------------------------------------------


def _evalkit() -> list[str]:
    exe = shutil.which("evalkit")
    return [exe] if exe else [sys.executable, "-m", "evalkit.cli"]


class TreeSampler(threading.Thread):
    """Peak total RSS of a process and its descendants, sampled every 0.2 s (needs psutil)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.stop.is_set():
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                break
            self.peak = max(self.peak, total)
            self.stop.wait(0.2)


def run_measured(cmd: list[str]) -> dict[str, float]:
    """Run ``cmd``; wall seconds, peak RSS of its largest process and of its process tree."""
    timer = shutil.which("time") and Path("/usr/bin/time").exists()
    full = ["/usr/bin/time", "-v", *cmd] if timer else cmd
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err[-2000:]}")
    if timer:
        peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1)) * 1024
        cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", err))
    else:  # the children's maximum so far: only meaningful when sizes grow run by run
        peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024
        cpu = float("nan")
    return {"wall": wall, "cpu": cpu, "peak": peak, "tree": sampler.peak, "stdout": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="1000000", help="comma-separated segment counts")
    ap.add_argument("--langs", default="zh,en")
    ap.add_argument("--jobs", default="1,2", help="comma-separated --jobs values")
    ap.add_argument("--chunk-size", type=int, default=100_000)
    ap.add_argument("--no-stats", action="store_true", help="also time --bootstrap 0 --paired none")
    ap.add_argument("--data-dir", help="keep the generated files here (reused when present)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    data = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="evalkit-bench-"))
    rows = []
    try:
        for n in sizes:
            for lang in args.langs.split(","):
                t0 = time.perf_counter()
                ref, hyp = write_pair(data / str(n), lang, n)
                gen = time.perf_counter() - t0
                mb = (ref.stat().st_size + hyp.stat().st_size) / 1e6
                print(
                    f"# {lang} {n:,}: {mb:,.0f} MB of text (generated in {gen:.0f} s)", flush=True
                )
                variants = [("CI+paired", [])]
                if args.no_stats:
                    variants.append(("none", ["--bootstrap", "0", "--paired", "none"]))
                for jobs in [int(j) for j in args.jobs.split(",")]:
                    for label, extra in variants:
                        out = data / "out.json"
                        cmd = [
                            *_evalkit(), "score", "--stream", "--ref", str(ref),
                            "--metrics", "bleu,chrf", "--jobs", str(jobs),
                            "--chunk-size", str(args.chunk_size), *extra,
                            "--format", "json", "--output", str(out), str(hyp),
                        ]  # fmt: skip
                        m = run_measured(cmd)
                        res = json.loads(out.read_text("utf-8"))["testsets"][0]
                        scores = res["systems"][0]["scores"]
                        row = {
                            "lang": lang, "segments": n, "jobs": jobs, "stats": label,
                            "wall": m["wall"], "rate": n / m["wall"], "cpu": m["cpu"],
                            "peak": m["peak"],
                            "tree": m["tree"], "bleu": scores["bleu"]["score"],
                            "chrf": scores["chrf"]["score"],
                            "method": res["stats"].get("method", "exact") if res["stats"] else "-",
                        }  # fmt: skip
                        rows.append(row)
                        print(_fmt(row), flush=True)
    finally:
        if not args.data_dir:
            shutil.rmtree(data, ignore_errors=True)
    print()
    print(
        "| lang | segments | jobs | stats | wall s | segments/s | CPU s | peak RSS MB (largest) "
        "| peak RSS MB (tree) | BLEU | chrF | < 2 GB at 1M |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        ok = "yes" if r["peak"] < LIMIT_1M else "NO"
        check = ok if r["segments"] == 1_000_000 else ""
        print(
            f"| {r['lang']} | {r['segments']:,} | {r['jobs']} | {r['stats']} | {r['wall']:.1f} "
            f"| {r['rate']:,.0f} | {r['cpu']:.0f} | {r['peak'] / 2**20:,.0f} "
            f"| {r['tree'] / 2**20:,.0f} "
            f"| {r['bleu']:.2f} | {r['chrf']:.2f} | {check} |"
        )
    bad = [r for r in rows if r["segments"] == 1_000_000 and r["peak"] >= LIMIT_1M]
    if bad:
        raise SystemExit("peak RSS at 1M segments is 2 GB or more")


def _fmt(r: dict) -> str:
    return (
        f"  jobs={r['jobs']} stats={r['stats']}: {r['wall']:.1f} s ({r['cpu']:.0f} s CPU), "
        f"{r['rate']:,.0f} seg/s, "
        f"peak {r['peak'] / 2**20:,.0f} MB (tree {r['tree'] / 2**20:,.0f} MB), "
        f"BLEU {r['bleu']:.2f} chrF {r['chrf']:.2f} [resampling: {r['method']}]"
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
