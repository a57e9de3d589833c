"""Issue 14's figures in one table: TER, ``--jobs``, the default run and cold BLEU + chrF, each
beside the sacrebleu 2.6 CLI on the same WMT22 files, measured in this one run.

Rows (wall clock, every command a fresh process, median of ``--repeat`` runs; sacrebleu's TER
runs once):

1. TER, single process: ``evalkit score --metrics ter --jobs 1 --normalize none --bootstrap 0
   --paired none --format json`` vs ``sacrebleu REF -i SYS... -m ter`` (``--ter-asian-support
   --ter-normalized`` for Chinese, evalkit's TER there) on the first ``--ter-systems`` systems
   (sacrebleu needs ~30 s per system), en-zh and zh-en. Cold: numba's compiled kernel is read
   from its on-disk cache; one extra row times the very first run with an empty cache.
2. TER on all 13 en-zh systems, ``--jobs 1`` vs ``--jobs 2`` (target: >= 1.7x on 2 cores); the
   sacrebleu column is the subset's per-system time times 13 (an estimate, marked ``est.``).
3. The default run, ``evalkit score --ref ref.zh --src src.en --report r.html SYS...`` (BLEU,
   chrF, chrF++, TER, 1,000-resample CIs, paired bootstrap, HTML report; ``--jobs`` defaults to
   the cores) vs ``sacrebleu REF -i SYS... -m bleu chrf --paired-bs --tokenize zh`` on the same
   13 systems; also with ``--jobs 1``.
4. Cold BLEU + chrF paired bootstrap: ``evalkit score --metrics bleu,chrf --normalize none
   --paired bs --bootstrap 1000 --format json`` (no cache) vs the same sacrebleu command, en-zh
   and zh-en.

Every TER score evalkit prints is compared with sacrebleu's (4 decimals); a difference is listed
as MISMATCH and the exit status is 1.

    python benchmarks/bench_default_run.py                  # ~6 minutes on 2 busy cores
    python benchmarks/bench_default_run.py --repeat 1 --ter-systems 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "wmt22"
TER_ZH = ["--ter-asian-support", "--ter-normalized"]


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return took, proc.stdout


def _median(cmd: list[str], repeat: int, env: dict[str, str] | None = None) -> tuple[float, str]:
    runs = [_run(cmd, env) for _ in range(repeat)]
    return statistics.median(t for t, _ in runs), runs[-1][1]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), **extra)
    return env


def _pair(pair: str) -> tuple[Path, Path, list[Path]]:
    folder = DATA / pair
    src, trg = pair.split("-")
    return (
        folder / f"ref.{trg}",
        folder / f"src.{src}",
        sorted((folder / "systems").glob(f"*.{trg}")),
    )


def _ter_rows(pair: str, n_sys: int, repeat: int, rows: list, problems: list) -> float:
    """Row 1 for one pair; returns sacrebleu's seconds per system."""
    ref, _, systems = _pair(pair)
    subset = systems[:n_sys]
    zh = pair.endswith("zh")
    t_sb, out = _run(
        ["sacrebleu", str(ref), "-i", *map(str, subset), "-m", "ter", "-w", "4", "-f", "json"]
        + (TER_ZH if zh else [])
    )
    expected = [item["TER"] for item in json.loads(out[out.index("[") :])]
    cmd = ["evalkit", "score", "--ref", str(ref), "--metrics", "ter", "--jobs", "1"]
    cmd += ["--normalize", "none", "--bootstrap", "0", "--paired", "none", "--format", "json"]
    cmd += [str(s) for s in subset]
    t_ev, out = _median(cmd, repeat, _env())
    got = [
        f"{s['raw_scores']['ter']['score']:.4f}" for s in json.loads(out)["testsets"][0]["systems"]
    ]
    if got != expected:
        problems.append(f"MISMATCH TER {pair}: evalkit {got} sacrebleu {expected}")
    what = f"TER {pair}{' (asian+norm)' if zh else ''}, {n_sys} system(s), 1 process"
    rows.append((what, t_ev, t_sb, "", 50.0))
    with tempfile.TemporaryDirectory() as empty:
        t_first, _ = _run(cmd, _env(NUMBA_CACHE_DIR=empty))
    rows.append(("  same, numba cache empty (compiles)", t_first, t_sb, "", None))
    return t_sb / n_sys


def _ter_jobs_rows(per_system_sb: float, repeat: int, rows: list) -> None:
    ref, _, systems = _pair("en-zh")
    cmd = ["evalkit", "score", "--ref", str(ref), "--metrics", "ter", "--normalize", "none"]
    cmd += ["--bootstrap", "0", "--paired", "none", "--format", "json", *map(str, systems)]
    t1, _ = _median([*cmd, "--jobs", "1"], repeat, _env())
    t2, _ = _median([*cmd, "--jobs", "2"], repeat, _env())
    est = per_system_sb * len(systems)
    rows.append((f"TER en-zh, {len(systems)} systems, --jobs 1", t1, est, "est.", None))
    rows.append((f"TER en-zh, {len(systems)} systems, --jobs 2", t2, est, "est.", None))
    rows.append(("  --jobs 2 speed-up (right: --jobs 1)", t2, t1, "jobs 1", 1.7))
    code = (
        "import sys, time; from pathlib import Path; from evalkit import fastter; "
        "ref = Path(sys.argv[1]).read_text().splitlines(); "
        "hyps = [Path(p).read_text().splitlines() for p in sys.argv[3:]]; "
        "fl = dict(normalized=True, asian_support=True); "
        "fastter.ter_stats_many([hyps[0][:50]], [ref[:50]], **fl); "
        "t = time.perf_counter(); "
        "fastter.ter_stats_many(hyps, [ref], jobs=int(sys.argv[2]), **fl); "
        "print(time.perf_counter() - t)"
    )
    inner = {}
    for jobs in (1, 2):
        runs = [
            _run([sys.executable, "-c", code, str(ref), str(jobs), *map(str, systems)], _env())[1]
            for _ in range(repeat)
        ]
        inner[jobs] = statistics.median(float(r) for r in runs)
    rows.append(
        ("  TER extraction alone (in process), --jobs 2 vs 1", inner[2], inner[1], "jobs 1", 1.7)
    )


def _sacrebleu_paired(pair: str, repeat: int) -> float:
    ref, _, systems = _pair(pair)
    cmd = ["sacrebleu", str(ref), "-i", *map(str, systems), "-m", "bleu", "chrf", "--paired-bs"]
    cmd += ["-f", "text", "--no-color"] + (["--tokenize", "zh"] if pair.endswith("zh") else [])
    return _median(cmd, repeat)[0]


def _default_run_rows(t_sb: float, repeat: int, rows: list) -> None:
    ref, src, systems = _pair("en-zh")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["evalkit", "score", "--ref", str(ref), "--src", str(src)]
        cmd += ["--report", str(Path(tmp) / "r.html"), *map(str, systems)]
        t_default, _ = _median(cmd, repeat, _env())
        t_one, _ = _median([*cmd, "--jobs", "1"], repeat, _env())
    n = len(systems)
    rows.append(
        (
            f"default run en-zh, {n} systems (4 metrics, CIs, paired bs, report)",
            t_default,
            t_sb,
            "",
            1.0,
        )
    )
    rows.append(("  same, --jobs 1", t_one, t_sb, "", None))
    rows.append(
        ("  default (--jobs = cores) speed-up (right: --jobs 1)", t_default, t_one, "jobs 1", 1.7)
    )


def _cold_bleu_chrf_row(pair: str, t_sb: float, repeat: int, rows: list) -> None:
    ref, _, systems = _pair(pair)
    cmd = ["evalkit", "score", "--ref", str(ref), "--metrics", "bleu,chrf", "--normalize", "none"]
    cmd += ["--paired", "bs", "--bootstrap", "1000", "--format", "json", *map(str, systems)]
    t_ev, _ = _median(cmd, repeat, _env())
    rows.append((f"cold BLEU+chrF paired bs {pair}, {len(systems)} systems", t_ev, t_sb, "", 15.0))


def _table(rows: list) -> str:
    head = ("figure", "evalkit s", "sacrebleu s", "ratio", "target", "met")
    lines = [head]
    for what, ev, sb, note, target in rows:
        ratio = sb / ev
        met = "" if target is None else ("yes" if ratio >= target else "NO")
        lines.append(
            (
                what,
                f"{ev:.2f}",
                f"{sb:.2f}{' ' + note if note else ''}",
                f"{ratio:.1f}x",
                "" if target is None else f">= {target:g}x",
                met,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per evalkit figure (median)")
    parser.add_argument(
        "--ter-systems", type=int, default=2, help="systems sacrebleu's TER runs on"
    )
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"needs the WMT22 data in {DATA}", file=sys.stderr)
        return 2
    git = subprocess.run(
        ["git", "-C", str(REPO), "log", "-1", "--format=%h"], capture_output=True, text=True
    )
    print(
        f"git {git.stdout.strip()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at start",
        flush=True,
    )
    rows: list = []
    problems: list[str] = []
    per_system = {
        p: _ter_rows(p, args.ter_systems, args.repeat, rows, problems) for p in ("en-zh", "zh-en")
    }
    _ter_jobs_rows(per_system["en-zh"], args.repeat, rows)
    paired = {p: _sacrebleu_paired(p, args.repeat) for p in ("en-zh", "zh-en")}
    _default_run_rows(paired["en-zh"], args.repeat, rows)
    for pair in ("en-zh", "zh-en"):
        _cold_bleu_chrf_row(pair, paired[pair], args.repeat, rows)
    print(_table(rows))
    print(
        f"sacrebleu's TER timed on the first {args.ter_systems} system(s) of each pair, all "
        f"segments; 'est.' = that per-system time x 13. Load {os.getloadavg()[0]:.2f} at the end."
    )
    print("\n".join(problems) or "every TER score equal to sacrebleu's (4 decimals)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
