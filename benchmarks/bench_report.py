"""Time the HTML report for 10 systems × 2,000 segments: build time, file size, first paint.

Data: the first 10 systems and 2,000 segments of WMT22 en-zh from ``../shared/data/wmt22``
beside the repository (read in place, never copied), else ``--data DIR`` with the same layout
(``src.en``, ``ref.zh``, ``systems/*.zh``), else Chinese-like text generated with a fixed seed.
Scores come from ``evalkit.evaluate`` with BLEU, chrF and chrF++; ``--metrics
bleu,chrf,chrf++,ter`` adds TER, the slow one (on the WMT22 data, 2 shared cores: evaluate took
50 s with it, 0.7 s without). Confidence intervals, p-values and the pairwise matrix are filled
in with fixed numbers so the page carries every section at full size; the report does no
statistics itself.

Prints, against the targets: the build time of ``render_report`` the first time in a process
(matplotlib and the templates load then; importing evalkit is shown apart) and warm, the file
size, and first paint / first contentful paint in headless Chromium
(``performance.getEntriesByType('paint')``, page loaded from ``file://`` with every other
request aborted), plus the time until the segment explorer has drawn its first page.

    python benchmarks/bench_report.py
    python benchmarks/bench_report.py --systems 10 --segments 2000 --keep report.html
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wmt22" / "en-zh"
SEED = 12345
TARGET_BUILD_S, TARGET_SIZE_MB, TARGET_PAINT_S = 3.0, 8.0, 1.0
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_HAN = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说"
    "产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点"
    "从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又"
)


def _lines(path: Path, n: int) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:n]


def _write(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _dataset(data: Path | None, n_sys: int, n_seg: int, tmp: Path):
    """(source, reference, {system: path}, origin); files cut to size live in ``tmp``."""
    if data is not None and (data / "ref.zh").is_file():
        systems = sorted((data / "systems").glob("*.zh"))[:n_sys]
        if len(systems) == n_sys and len(_lines(data / "ref.zh", n_seg)) == n_seg:
            src = _write(tmp, "src.en", _lines(data / "src.en", n_seg))
            ref = _write(tmp, "ref.zh", _lines(data / "ref.zh", n_seg))
            hyps = {p.stem: _write(tmp, p.name, _lines(p, n_seg)) for p in systems}
            return src, ref, hyps, f"{data} (first {n_sys} systems, {n_seg} segments)"
    rng = random.Random(SEED)
    refs = ["".join(rng.choices(_HAN, k=rng.randint(8, 60))) + "。" for _ in range(n_seg)]
    src = _write(tmp, "src.en", [f"Source sentence number {i}." for i in range(n_seg)])
    ref = _write(tmp, "ref.zh", refs)
    hyps = {}
    for k in range(n_sys):
        rate = 0.05 + 0.05 * k  # system k changes about (5 + 5k)% of the characters
        lines = ["".join(rng.choice(_HAN) if rng.random() < rate else ch for ch in r) for r in refs]
        hyps[f"system-{k:02d}"] = _write(tmp, f"system-{k:02d}.zh", lines)
    return src, ref, hyps, f"generated (seed {SEED}, {n_sys} systems, {n_seg} segments)"


def _with_statistics(res):
    """Fixed CIs, p-values and a full pairwise matrix, so every section is at full size."""
    from evalkit.results import Comparison

    sets = []
    for ts in res.testsets:
        systems = []
        for k, sr in enumerate(ts.systems):
            scores = {
                m: dataclasses.replace(s, ci=(s.score - 0.8, s.score + 0.9), ci_mean=s.score)
                for m, s in sr.scores.items()
            }
            vs = {
                m: dataclasses.replace(c, p_value=(0.001, 0.03, 0.4)[k % 3], test="paired-bs")
                for m, c in sr.vs_baseline.items()
            }
            systems.append(dataclasses.replace(sr, scores=scores, vs_baseline=vs))
        pairwise = {
            m: {
                a.name: {
                    b.name: Comparison(a.scores[m].score - b.scores[m].score, 0.02, "paired-bs")
                    for b in systems
                    if b is not a
                }
                for a in systems
            }
            for m in ts.metrics
        }
        sets.append(dataclasses.replace(ts, systems=tuple(systems), pairwise=pairwise))
    return dataclasses.replace(res, testsets=tuple(sets))


def _paint(path: Path) -> dict[str, float] | None:
    """First paint, first contentful paint and first explorer page, in seconds, or None."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        return None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route(
            "**/*",
            lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort(),
        )
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_selector("li.seg")
        timing = page.evaluate(
            """() => {
              const paint = {};
              for (const e of performance.getEntriesByType('paint')) paint[e.name] = e.startTime;
              const nav = performance.getEntriesByType('navigation')[0];
              return {fp: paint['first-paint'], fcp: paint['first-contentful-paint'],
                      dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd};
            }"""
        )
        browser.close()
    return {k: (v or 0.0) / 1000 for k, v in timing.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", type=int, default=10)
    parser.add_argument("--segments", type=int, default=2000)
    parser.add_argument("--metrics", default="bleu,chrf,chrf++")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--runs", type=int, default=3, help="warm builds to time (median)")
    parser.add_argument("--keep", type=Path, help="also write the report here")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    import evalkit
    from evalkit.report import render_report

    import_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp_name:
        tmp = Path(tmp_name)
        src, ref, hyps, origin = _dataset(args.data, args.systems, args.segments, tmp)
        t = time.perf_counter()
        ts = evalkit.load_testset(
            ref, hyps, sources=src, lang="zh", name="wmt22-en-zh", baseline=next(iter(hyps))
        )
        res = _with_statistics(evalkit.evaluate(ts, metrics=args.metrics, meta={"suite": "bench"}))
        evaluate_s = time.perf_counter() - t

        t, c = time.perf_counter(), time.process_time()
        html = render_report(res)  # first build in this process: loads matplotlib, templates
        cold_s, cold_cpu = time.perf_counter() - t, time.process_time() - c
        warm, warm_cpu = [], []
        for _ in range(max(args.runs, 1)):
            t, c = time.perf_counter(), time.process_time()
            html = render_report(res)
            warm.append(time.perf_counter() - t)
            warm_cpu.append(time.process_time() - c)
        warm_s = statistics.median(warm)
        data = html.encode("utf-8")
        path = tmp / "report.html"
        path.write_bytes(data)
        if args.keep:
            args.keep.write_bytes(data)
        paint = _paint(path)

    size_mb = len(data) / 1e6
    print(f"data:      {origin}")
    print(f"metrics:   {args.metrics}; evaluate took {evaluate_s:.1f} s (not part of the build)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.2f}; "
        f"{args.runs} warm run(s), median shown; wall-clock seconds (CPU seconds)"
    )
    print()
    rows = [
        ("import evalkit + evalkit.report", f"{import_s:.2f} s", "", True),
        (
            "build, first in the process",
            f"{cold_s:.2f} s ({cold_cpu:.2f} CPU)",
            f"< {TARGET_BUILD_S:g} s",
            cold_s < TARGET_BUILD_S,
        ),
        (
            "build, warm",
            f"{warm_s:.2f} s ({statistics.median(warm_cpu):.2f} CPU)",
            f"< {TARGET_BUILD_S:g} s",
            warm_s < TARGET_BUILD_S,
        ),
        ("file size", f"{size_mb:.2f} MB", f"< {TARGET_SIZE_MB:g} MB", size_mb < TARGET_SIZE_MB),
    ]
    if paint is None:
        rows.append(
            ("first paint", "n/a (no Chromium/Playwright)", f"< {TARGET_PAINT_S:g} s", True)
        )
    else:
        rows += [
            (
                "first paint",
                f"{paint['fp']:.3f} s",
                f"< {TARGET_PAINT_S:g} s",
                paint["fp"] < TARGET_PAINT_S,
            ),
            (
                "first contentful paint",
                f"{paint['fcp']:.3f} s",
                f"< {TARGET_PAINT_S:g} s",
                paint["fcp"] < TARGET_PAINT_S,
            ),
            ("DOMContentLoaded (explorer drawn)", f"{paint['dcl']:.3f} s", "", True),
            ("load event", f"{paint['load']:.3f} s", "", True),
        ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>22}  {'target':>8}  ok")
    for name, value, target, ok in rows:
        print(f"{name:<{width}}  {value:>22}  {target:>8}  {'yes' if ok else 'NO'}")
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
