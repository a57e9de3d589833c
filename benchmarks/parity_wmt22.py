"""Check that `evalkit score` reproduces the sacrebleu CLI on every WMT22 zh↔en system.

Runs both command-line tools on the same files (../shared/data/wmt22, when present), evalkit with
its defaults (``--normalize auto``), and prints, per system, BLEU and chrF from each with four
decimals and whether they and the signatures are identical. evalkit's normalized score is the one
compared, unless normalization converted some of that system's (or the reference's) segments:
then its raw score is, and the row says how many segments were converted. Exit status 1 on any
difference.

    python benchmarks/parity_wmt22.py [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wmt22"


def sacrebleu_cli(ref: Path, hyp: Path, lang: str) -> dict[str, tuple[float, str]]:
    cmd = [
        sys.executable,
        "-m",
        "sacrebleu",
        str(ref),
        "-i",
        str(hyp),
        "-m",
        "bleu",
        "chrf",
        "-f",
        "json",
        "-w",
        "4",
    ]
    if lang == "zh":
        cmd += ["--tokenize", "zh"]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return {d["name"]: (d["score"], d["signature"]) for d in out}


def evalkit_cli(ref: Path, hyps: list[Path]) -> dict[str, dict[str, tuple[float, str] | int]]:
    """Per system: metric → (score, signature) of the score sacrebleu must match, and
    ``converted`` (segments normalization converted on either side)."""
    cmd = [
        "evalkit",
        "score",
        "--ref",
        str(ref),
        "--metrics",
        "bleu,chrf",
        "--bootstrap",
        "0",
        "--paired",
        "none",
        "--format",
        "json",
        *[f"{h.stem}={h}" for h in hyps],
    ]
    ts = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    ts = ts["testsets"][0]
    norm = ts["normalization"]
    out: dict[str, dict[str, tuple[float, str] | int]] = {}
    for s in ts["systems"]:
        converted = norm.get("converted_segments", {}).get(s["name"], 0)
        converted += norm.get("ref_converted_segments", 0)
        scores = s["raw_scores"] if converted else s["scores"]
        out[s["name"]] = {m: (v["score"], v["signature"]) for m, v in scores.items()}
        out[s["name"]]["converted"] = converted
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"no WMT22 data at {args.data}; nothing to check")
        return 0
    bad = 0
    print(
        f"{'pair':6} {'system':18} {'BLEU sacrebleu':>15} {'BLEU evalkit':>13} "
        f"{'chrF sacrebleu':>15} {'chrF evalkit':>13}  identical"
    )
    for pair, lang, ref_name in (("en-zh", "zh", "ref.zh"), ("zh-en", "en", "ref.en")):
        folder = args.data / pair
        hyps = sorted((folder / "systems").iterdir())
        ours = evalkit_cli(folder / ref_name, hyps)
        for hyp in hyps:
            theirs = sacrebleu_cli(folder / ref_name, hyp, lang)
            mine = ours[hyp.stem]
            row_ok = True
            cells = []
            for metric, label in (("bleu", "BLEU"), ("chrf", "chrF2")):
                t_score, t_sig = theirs[label]
                m_score, m_sig = mine[metric]  # type: ignore[misc]
                same = round(m_score, 4) == t_score and m_sig == t_sig
                row_ok &= same
                cells += [f"{t_score:15.4f}", f"{m_score:13.4f}"]
            bad += not row_ok
            note = f"  (raw: {mine['converted']} segments converted)" if mine["converted"] else ""
            print(f"{pair:6} {hyp.stem:18} {' '.join(cells)}  {'yes' if row_ok else 'NO'}{note}")
    print(
        f"\n{'all identical' if not bad else f'{bad} systems differ'} "
        "(scores to 4 decimals and signature strings)"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
