"""Benchmark: N single ``bleu_stats`` / ``chrf_stats`` calls vs one ``*_stats_many`` call.

    python benchmarks/bench_extraction_many.py [--repeat 7] [--metrics bleu,chrf,chrf++]

WMT22 en-zh (tokenizer zh) and zh-en (13a), every system against ``ref.*``, from
``../shared/data/wmt22`` beside the repository, else (or with ``--generated``) generated data of
the same shape. Times are in-process (imports and lookup tables warm), median of ``--repeat``
runs; ``identical`` compares every system's arrays with ``np.array_equal``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evalkit._io import read_lines  # noqa: E402
from evalkit.fastextract import (  # noqa: E402
    bleu_stats,
    bleu_stats_many,
    chrf_stats,
    chrf_stats_many,
)

WMT22 = REPO.parent / "shared" / "data" / "wmt22"
#: (pair, target language, BLEU tokenizer, systems and segments of the generated stand-in)
PAIRS = [("en-zh", "zh", "zh", 13, 2037), ("zh-en", "en", "13a", 12, 1875)]


def _generated(lang: str, n_sys: int, n: int, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    """A reference and ``n_sys`` noisy copies (substitutions, drops, swaps) of it."""
    rng = np.random.default_rng([seed, lang == "zh"])
    if lang == "zh":
        alphabet = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)] + list("，。、“”0123456789")
        vocab = ["".join(rng.choice(alphabet, int(rng.integers(1, 3)))) for _ in range(8000)]
        sep, median = "", 25
    else:
        letters = list("abcdefghijklmnopqrstuvwxyz")
        vocab = ["".join(rng.choice(letters, int(rng.integers(1, 9)))) for _ in range(20_000)]
        vocab += [",", ".", "3.5", "U.S.", "(", ")", "well-known"]
        sep, median = " ", 22
    weights = 1.0 / (np.arange(len(vocab)) + 2.7) ** 1.1
    weights /= weights.sum()
    lengths = np.clip(rng.lognormal(np.log(median), 0.5, n), 1, 150).astype(int)
    ref_words = [list(rng.choice(len(vocab), k, p=weights)) for k in lengths]
    ref = [sep.join(vocab[w] for w in words) for words in ref_words]
    systems = []
    for _ in range(n_sys):
        hyps = []
        for words in ref_words:
            out = [w for w in words if rng.random() > 0.05]
            out = [int(rng.integers(len(vocab))) if rng.random() < 0.15 else w for w in out]
            if len(out) > 2 and rng.random() < 0.3:
                i = int(rng.integers(len(out) - 1))
                out[i], out[i + 1] = out[i + 1], out[i]
            hyps.append(sep.join(vocab[w] for w in out))
        systems.append(hyps)
    return ref, systems


def load(
    pair: str, lang: str, n_sys: int, n: int, generated: bool
) -> tuple[str, list[str], list[list[str]]]:
    if (WMT22 / pair).is_dir() and not generated:
        paths = sorted((WMT22 / pair / "systems").glob(f"*.{lang}"))
        systems = [list(read_lines(p)) for p in paths]
        return f"wmt22 {pair}", list(read_lines(WMT22 / pair / f"ref.{lang}")), systems
    ref, systems = _generated(lang, n_sys, n)
    return f"generated {pair}", ref, systems


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def measure(
    single: Callable[..., np.ndarray],
    many: Callable[..., list[np.ndarray]],
    systems: list[list[str]],
    refs: list[list[str]],
    kw: dict,
    repeat: int,
) -> tuple[float, float, bool]:
    """Median seconds of N single calls and of one ``many`` call, and whether they agree."""
    many([h[:1] for h in systems], [r[:1] for r in refs], **kw)  # lookup tables, imports
    t_single = median_seconds(lambda: [single(h, refs, **kw) for h in systems], repeat)
    t_many = median_seconds(lambda: many(systems, refs, **kw), repeat)
    got = many(systems, refs, **kw)
    same = all(np.array_equal(a, single(h, refs, **kw)) for a, h in zip(got, systems, strict=True))
    return t_single, t_many, same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--metrics", default="bleu,chrf")
    parser.add_argument("--generated", action="store_true", help="ignore the WMT22 data")
    args = parser.parse_args(argv)

    rows = []
    for pair, lang, tokenize, n_sys, n in PAIRS:
        label, ref, systems = load(pair, lang, n_sys, n, args.generated)
        refs = [ref]
        calls = {
            "bleu": (bleu_stats, bleu_stats_many, {"tokenize": tokenize}),
            "chrf": (chrf_stats, chrf_stats_many, {}),
            "chrf++": (chrf_stats, chrf_stats_many, {"word_order": 2}),
        }
        for metric in args.metrics.split(","):
            single, many, kw = calls[metric]
            t_single, t_many, same = measure(single, many, systems, refs, kw, args.repeat)
            name = f"{metric} ({tokenize})" if metric == "bleu" else metric
            rows.append((label, len(systems), len(ref), name, t_single, t_many, same))
            print(f"  {label} {name}: {t_single:.3f}s vs {t_many:.3f}s", file=sys.stderr)

    head = (
        f"{'corpus':16} {'systems':>7} {'segments':>8}  {'metric':10} "
        f"{'N single s':>10} {'many s':>8} {'ratio':>6}  identical"
    )
    print(f"command: python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}".rstrip())
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(head)
    print("-" * len(head))
    totals: dict[str, list[float]] = {}
    for label, n_sys, n, name, t_single, t_many, same in rows:
        print(
            f"{label:16} {n_sys:7d} {n:8d}  {name:10} {t_single:10.3f} {t_many:8.3f} "
            f"{t_single / t_many:5.2f}x  {'yes' if same else 'NO'}"
        )
        total = totals.setdefault(label, [0.0, 0.0])
        total[0] += t_single
        total[1] += t_many
    for label, (t_single, t_many) in totals.items():
        print(
            f"{label:16} {'':7} {'':8}  {'all above':10} {t_single:10.3f} {t_many:8.3f} "
            f"{t_single / t_many:5.2f}x"
        )
    print(f"median of {args.repeat} runs each, wall-clock seconds, one process")
    return 0 if all(row[-1] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
