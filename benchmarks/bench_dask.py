"""Benchmark: the streaming engine in one process vs the Dask engine on a LocalCluster.

The generated file pairs of ``bench_streaming.py`` (one reference, one candidate) are scored
with BLEU + chrF and the default statistics (1000 Poisson bootstrap resamples) — each case in
a fresh subprocess of this script — by ``score_files(engine="auto")`` in a single process, and
by ``score_files(engine="dask")`` on ``LocalCluster(n_workers=W, threads_per_worker=1)``.
Reported: wall time (cluster start-up apart), segments/s, CPU seconds, peak RSS of the client
and of each worker (``getrusage`` in that process: the text never passes through the client),
and the per-chunk costs a scaling estimate needs: index time on the client, mean task time
per (system, chunk) on a worker, and resampling time on the client.

    python benchmarks/bench_dask.py                          # 1M segments, 2 workers
    python benchmarks/bench_dask.py --sizes 1000000,10000000 --data-dir /tmp/evalkit-bench
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_streaming import write_pair  # noqa: E402


def _peak_self() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_case(case: str, ref: str, hyp: str, workers: int, chunk: int) -> dict:
    """One measurement, in this (fresh) process."""
    from evalkit import streaming
    from evalkit.evaluation import StatsOptions

    marks: dict[str, float] = {}

    def progress(description: str, done: int, total: int) -> None:
        now = time.perf_counter()
        marks.setdefault("first_chunk", now)
        if description.endswith("resampling"):
            marks["resampling"] = now

    t0 = time.perf_counter()
    for path in (ref, hyp):
        streaming.index_file(path, chunk)
    index_s = time.perf_counter() - t0
    kw = {
        "metrics": "bleu,chrf",
        "stats": StatsOptions(bootstrap=1000, paired="bs"),
        "chunk_size": chunk,
        "progress": progress,
    }
    out: dict = {"case": case, "index_s": index_s}
    if case == "local":
        start = time.perf_counter()
        res = streaming.score_files([ref], [hyp], **kw)
        out["wall"] = time.perf_counter() - start
        out["cpu"] = _cpu_self()
        out["workers_peak"] = []
    else:
        import distributed

        from evalkit.distributed import connect

        s0 = time.perf_counter()
        with connect(n_workers=workers, timeout=60) as session:
            client = session.client
            out["startup_s"] = time.perf_counter() - s0
            before = client.run(_cpu_self)
            with distributed.get_task_stream(client=client) as ts:
                start = time.perf_counter()
                res = streaming.score_files([ref], [hyp], engine="dask", client=session, **kw)
                out["wall"] = time.perf_counter() - start
            after = client.run(_cpu_self)
            tasks = [t for t in ts.data if str(t.get("key", "")).startswith("evalkit-chunk")]
            compute = [
                s["stop"] - s["start"]
                for t in tasks
                for s in t.get("startstops", ())
                if s["action"] == "compute"
            ]
            out["tasks"] = len(tasks)
            out["task_s"] = sum(compute) / max(1, len(compute))  # wall, on a shared machine
            out["workers_cpu"] = sum(after.values()) - sum(before.values())
            out["task_cpu_s"] = out["workers_cpu"] / max(1, len(tasks))
            out["workers_peak"] = sorted(client.run(_peak_self).values())
        out["cpu"] = _cpu_self() + out["workers_cpu"]
    out["client_peak"] = _peak_self()
    resampling = marks.get("resampling", start + out["wall"])
    out["scoring_s"] = resampling - start  # index + chunks (read, normalize, extract) + collect
    out["resample_s"] = start + out["wall"] - resampling  # Poisson bootstrap on the client
    sc = res.testsets[0].systems[0].scores
    out["bleu"], out["chrf"], out["ci"] = sc["bleu"].score, sc["chrf"].score, sc["bleu"].ci
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="1000000")
    ap.add_argument("--lang", default="zh")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=100_000)
    ap.add_argument("--data-dir", help="keep the generated files here (reused when present)")
    ap.add_argument("--case", choices=["local", "dask"], help=argparse.SUPPRESS)
    ap.add_argument("--ref", help=argparse.SUPPRESS)
    ap.add_argument("--hyp", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:  # a measurement subprocess
        print(json.dumps(run_case(args.case, args.ref, args.hyp, args.workers, args.chunk_size)))
        return
    data = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="evalkit-dask-"))
    rows = []
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            ref, hyp = write_pair(data / str(n), args.lang, n)
            for case in ("local", "dask"):
                cmd = [sys.executable, __file__, "--case", case, "--ref", str(ref)]
                cmd += ["--hyp", str(hyp), "--workers", str(args.workers)]
                cmd += ["--chunk-size", str(args.chunk_size)]
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if proc.returncode:
                    raise SystemExit(proc.stderr[-3000:])
                row = {"segments": n, **json.loads(proc.stdout.strip().splitlines()[-1])}
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        if not args.data_dir:
            shutil.rmtree(data, ignore_errors=True)
    mb = 2**20
    print()
    print(
        "| segments | engine | wall s | segments/s | CPU s | client peak MB | worker peak MB "
        "| index s | scoring s | resample s | task s/chunk (CPU) | start-up s |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        engine = "local, 1 process" if r["case"] == "local" else f"dask, {args.workers} workers"
        workers = ", ".join(f"{p / mb:,.0f}" for p in r["workers_peak"]) or "-"
        task = f"{r['task_s']:.2f} ({r['task_cpu_s']:.2f})" if "task_s" in r else "-"
        startup = f"{r['startup_s']:.1f}" if "startup_s" in r else "-"
        print(
            f"| {r['segments']:,} | {engine} | {r['wall']:.1f} | {r['segments'] / r['wall']:,.0f} "
            f"| {r['cpu']:.0f} | {r['client_peak'] / mb:,.0f} | {workers} | {r['index_s']:.1f} "
            f"| {r['scoring_s']:.1f} | {r['resample_s']:.1f} | {task} | {startup} |"
        )
    for n in sorted({r["segments"] for r in rows}):
        same = {json.dumps([r["bleu"], r["chrf"], r["ci"]]) for r in rows if r["segments"] == n}
        print(f"{n:,}: local and dask results identical: {len(same) == 1}")


if __name__ == "__main__":
    main()
