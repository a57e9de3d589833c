"""Time evalkit's bootstrap CIs and paired significance tests against the sacrebleu CLI.

One process run times, for the WMT22 en-zh and zh-en test sets:

* ``sacrebleu REF -i SYS... -m bleu chrf --paired-bs`` and ``--paired-ar`` (subprocess, wall clock;
  ``--tokenize zh`` for a Chinese target; the first system is the baseline);
* ``evalkit score ... --paired bs|ar --bootstrap N --cache DIR`` cold (fresh cache), warm
  (second run on the same cache: the results document of the identical run is reused) and
  warm with the statistics cache only (``DIR/results`` deleted before each run, so extraction
  is skipped but resampling, scoring and JSON are redone);
* ``evalkit.evaluate`` in this process with all four metrics (bleu, chrF, chrF++, TER), CIs and a
  paired bootstrap, cold once and then warm;

prints one table of wall times and ratios (sacrebleu seconds / evalkit seconds), and checks that
evalkit's corpus scores, bootstrap means ± half-widths and p-values print exactly as sacrebleu
prints them (sacrebleu's ``-f json`` cannot serialise its paired results in 2.6 — it raises
``TypeError: Object of type float32 is not JSON serializable`` after computing them — so its text
table is parsed; ``-w 4`` makes it print 4 decimals instead of 1, which changes no work).

Data: ``../shared/data/wmt22/{en-zh,zh-en}`` beside the repository (never copied into it), else
``--data DIR`` with the same layout (``ref.<lang>`` + ``systems/*.<lang>``), else generated
data of the same shape in a temporary directory.

    python benchmarks/bench_significance.py            # full run: several minutes
    python benchmarks/bench_significance.py --quick    # 3 systems, 300 segments, 100 resamples
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wmt22"
PAIRS = ("en-zh", "zh-en")
SEED = 12345  # sacrebleu's default seed; evalkit's default too
TARGET_COLD, TARGET_WARM, TARGET_ALL_WARM_S = 3.0, 30.0, 2.0
ALL_METRICS = ["bleu", "chrf", "chrf++", "ter"]
REPO = Path(__file__).resolve().parents[1]
SNAPSHOT: str | None = None  # folder holding a frozen copy of evalkit/, first on every sys.path


def take_snapshot(tmp: Path) -> str:
    """Copy the checkout's evalkit/ as it is now and put the copy first on sys.path (here and,
    through PYTHONPATH, in every subprocess): commits that land in the shared checkout during a
    long run then cannot change the code under test half-way through."""
    global SNAPSHOT
    dest = tmp / "snapshot"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "evalkit", dest / "evalkit", ignore=ignore)
    SNAPSHOT = str(dest)
    sys.path.insert(0, SNAPSHOT)
    return SNAPSHOT


# --------------------------------------------------------------------------------------- data


@dataclass
class Dataset:
    pair: str  # "en-zh"
    lang: str  # target language
    ref: Path
    systems: list[tuple[str, Path]]  # (name, path); the first one is the baseline
    origin: str

    @property
    def n_segments(self) -> int:
        with self.ref.open(encoding="utf-8") as f:
            return sum(1 for _ in f)


def _shared_dataset(root: Path, pair: str) -> Dataset | None:
    lang = pair.split("-")[1]
    folder = root / pair
    ref = folder / f"ref.{lang}"
    systems = sorted((folder / "systems").glob(f"*.{lang}"))
    if not ref.is_file() or not systems:
        return None
    return Dataset(pair, lang, ref, [(p.stem, p) for p in systems], str(folder))


# Common Simplified characters and Chinese punctuation for Chinese-like text.
_HANZI = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说"
    "产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点"
    "从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原"
    "又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革"
    "位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强"
    "放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交"
    "受联什认六共权收证改清美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离"
)
_ZH_PUNCT = "，，，、。"
_SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ou", "ai")]
_EN_COMMON = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which "
    "but have an they you were their one all we can her has there been if more when will would who "
    "so no new said year people government market company city report percent last two first "
    "state police president also after could into than other some time its about up out"
).split()


def _en_vocab(rng: random.Random, size: int = 3000) -> list[str]:
    words = set(_EN_COMMON)
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))))
    rest = sorted(words - set(_EN_COMMON))
    rng.shuffle(rest)
    return _EN_COMMON + rest  # frequent words first


def _zipf_sampler(rng: random.Random, items: list[str] | str) -> Callable[[], str]:
    """Zipf–Mandelbrot draws (weight 1 / (rank + 2.7)): a few items are frequent, most are rare."""
    cum, total = [], 0.0
    for rank in range(len(items)):
        total += 1.0 / (rank + 2.7)
        cum.append(total)
    return lambda: rng.choices(items, cum_weights=cum)[0]


def _zh_sentence(rng: random.Random, char: Callable[[], str]) -> list[str]:
    n = max(4, int(rng.lognormvariate(3.3, 0.45)))  # ~30 characters, like WMT22 en-zh refs
    toks = []
    for i in range(n):
        if i and rng.random() < 0.07:
            toks.append(rng.choice(_ZH_PUNCT[:3]))
        elif rng.random() < 0.03:  # an embedded number with ASCII spaces, as in the real data
            toks.append(f" {rng.randint(2, 2024)} ")
        else:
            toks.append(char())
    return [*toks, "。"]


def _en_sentence(rng: random.Random, word: Callable[[], str]) -> list[str]:
    n = max(3, int(rng.lognormvariate(3.1, 0.5)))  # ~25 words, like WMT22 zh-en refs
    words = [word() for _ in range(n)]
    words[0] = words[0].capitalize()
    for i in range(2, n - 1):
        if rng.random() < 0.06:
            words[i] += ","
    return [*words[:-1], words[-1] + "."]


def _noisy_copy(
    rng: random.Random, toks: list[str], noise: float, pool: Callable[[], str]
) -> list[str]:
    out: list[str] = []
    for tok in toks:
        r = rng.random()
        if r < noise / 3:
            continue  # deletion
        if r < 2 * noise / 3:
            out.append(pool())  # substitution
        else:
            out.append(tok)
        if rng.random() < noise / 3:
            out.append(pool())  # insertion
    if len(out) > 3 and rng.random() < noise:  # a local reordering
        i = rng.randrange(len(out) - 2)
        out[i], out[i + 1] = out[i + 1], out[i]
    return out


def generate_dataset(folder: Path, pair: str, n_segments: int, n_systems: int) -> Dataset:
    """Deterministic synthetic data shaped like WMT22 (systems = noisy copies of the reference)."""
    lang = pair.split("-")[1]
    rng = random.Random(f"evalkit-bench-{pair}-{SEED}")
    if lang == "zh":
        pool = _zipf_sampler(rng, _HANZI)
        refs = [_zh_sentence(rng, pool) for _ in range(n_segments)]
        join = "".join
    else:
        pool = _zipf_sampler(rng, _en_vocab(rng))
        refs = [_en_sentence(rng, pool) for _ in range(n_segments)]
        join = " ".join
    (folder / "systems").mkdir(parents=True, exist_ok=True)
    ref = folder / f"ref.{lang}"
    ref.write_text("".join(join(t).strip() + "\n" for t in refs), encoding="utf-8")
    systems = []
    for k in range(n_systems):
        noise = 0.12 + 0.3 * k / max(1, n_systems - 1)
        lines = [join(_noisy_copy(rng, t, noise, pool)).strip() for t in refs]
        path = folder / "systems" / f"gen-sys{k:02d}.{lang}"
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        systems.append((path.stem, path))
    return Dataset(pair, lang, ref, systems, f"generated (seeded) in {folder}")


def truncate_dataset(ds: Dataset, folder: Path, n_segments: int) -> Dataset:
    """The first ``n_segments`` lines of every file, written under ``folder`` (temp dir)."""
    folder.mkdir(parents=True, exist_ok=True)

    def head(src: Path) -> Path:
        dst = folder / src.name
        with src.open(encoding="utf-8", newline="\n") as f:
            lines = [line for _, line in zip(range(n_segments), f, strict=False)]
        dst.write_text("".join(lines), encoding="utf-8", newline="\n")
        return dst

    return Dataset(
        ds.pair,
        ds.lang,
        head(ds.ref),
        [(name, head(path)) for name, path in ds.systems],
        f"{ds.origin} (first {n_segments} segments)",
    )


def load_datasets(args: argparse.Namespace, tmp: Path) -> list[Dataset]:
    root = Path(args.data) if args.data else DEFAULT_DATA
    out = []
    for pair in PAIRS:
        ds = _shared_dataset(root, pair)
        if ds is None:
            if args.data:
                sys.exit(f"bench: {root / pair} has no ref.<lang> + systems/*.<lang>")
            shape = {"en-zh": (2037, 13), "zh-en": (1875, 12)}[pair]
            ds = generate_dataset(tmp / "data" / pair, pair, *shape)
        if args.systems:
            ds.systems = ds.systems[: args.systems]
        if args.segments and args.segments < ds.n_segments:
            ds = truncate_dataset(ds, tmp / "data-head" / pair, args.segments)
        out.append(ds)
    return out


# ------------------------------------------------------------------------------------ timing


@dataclass
class Timing:
    seconds: float  # median
    runs: list[float]
    output: str  # stdout of the first run (or repr of the first result)


def timed(fn: Callable[[], str], repeat: int, slow: float) -> Timing:
    """Median wall time of ``fn`` over up to ``repeat`` runs; a run slower than ``slow`` seconds
    is not repeated (on 2 shared cores a multi-minute case is not worth three runs)."""
    runs: list[float] = []
    output = ""
    for i in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t0)
        if i == 0:
            output = out
        if runs[0] > slow:
            break
    return Timing(statistics.median(runs), runs, output)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("SACREBLEU_SEED", "SACREBLEU_FORMAT"):  # seed: default 12345; format: we pick it
        env.pop(var, None)
    env["NO_COLOR"] = "1"
    if SNAPSHOT:
        env["PYTHONPATH"] = os.pathsep.join([SNAPSHOT, *filter(None, [env.get("PYTHONPATH")])])
    return env


def run(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", env=_env())
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")
    return proc.stdout


def _exe(name: str, module: str) -> list[str]:
    found = shutil.which(name)
    return [found] if found else [sys.executable, "-m", module]


def sacrebleu_cmd(ds: Dataset, test: str, n: int) -> list[str]:
    cmd = [*_exe("sacrebleu", "sacrebleu"), str(ds.ref), "-i", *(str(p) for _, p in ds.systems)]
    cmd += ["-m", "bleu", "chrf", f"--paired-{test}"]
    if ds.lang == "zh":
        cmd += ["--tokenize", "zh"]
    if test == "bs" and n != 1000:
        cmd += ["--paired-bs-n", str(n)]
    return [*cmd, "-f", "text", "--no-color", "-w", "4"]


def evalkit_cmd(ds: Dataset, test: str, n: int, cache: Path) -> list[str]:
    cmd = [*_exe("evalkit", "evalkit.cli"), "score", "--ref", str(ds.ref)]
    cmd += ["--metrics", "bleu,chrf", "--normalize", "none", "--paired", test]
    cmd += ["--bootstrap", str(n), "--format", "json", "--cache", str(cache)]
    return cmd + [f"{name}={path}" for name, path in ds.systems]


# ------------------------------------------------------------------------ score comparison

# name -> metric -> {"score", "mean", "half", "p"} as printed strings (4 decimals)
Printed = dict[str, dict[str, dict[str, str]]]
_SB_METRIC = {"BLEU": "bleu", "chrF2": "chrf"}
_SCORE_CELL = re.compile(r"^(-?[\d.]+)(?: \((-?[\d.]+) ± (-?[\d.]+)\))?$")
_P_CELL = re.compile(r"^\(p = ([\d.]+)\)\*?$")


def parse_sacrebleu(text: str, ds: Dataset) -> Printed:
    """sacrebleu's multi-system ``-f text`` table (fancy_grid) → printed strings per cell."""
    by_path = {str(p): name for name, p in ds.systems}
    rows = [
        [c.strip() for c in line.strip().strip("│").split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]
    header = [_SB_METRIC.get(h.split(" (")[0], h) for h in rows[0][1:]]
    out: Printed = {}
    current = None
    for cells in rows[1:]:
        name_cell, values = cells[0], cells[1:]
        if name_cell:
            current = by_path[name_cell.removeprefix("Baseline: ")]
            out[current] = {}
            for metric, cell in zip(header, values, strict=True):
                m = _SCORE_CELL.match(cell)
                if not m:
                    raise ValueError(f"unparsed sacrebleu cell {cell!r}")
                entry = {"score": m[1]}
                if m[2] is not None:
                    entry |= {"mean": m[2], "half": m[3]}
                out[current][metric] = entry
        else:
            assert current is not None
            for metric, cell in zip(header, values, strict=True):
                m = _P_CELL.match(cell)
                if m:
                    out[current][metric]["p"] = m[1]
    return out


def printed_evalkit(
    systems: list[dict], test: str, metrics: tuple[str, ...] = ("bleu", "chrf")
) -> Printed:
    """evalkit JSON systems (``testsets[0].systems``) printed the way sacrebleu prints them."""
    out: Printed = {}
    for s in systems:
        out[s["name"]] = {}
        for m in metrics:
            sc = s["scores"][m]
            entry = {"score": f"{sc['score']:.4f}"}
            if test == "bs" and sc.get("ci") is not None:
                low, high = sc["ci"]
                entry |= {"mean": f"{sc['ci_mean']:.4f}", "half": f"{0.5 * (high - low):.4f}"}
            vs = (s.get("vs_baseline") or {}).get(m)
            if vs and vs.get("p_value") is not None:
                entry["p"] = f"{vs['p_value']:.4f}"
            out[s["name"]][m] = entry
    return out


def compare(sb: Printed, ek: Printed) -> list[str]:
    """Mismatches between sacrebleu's and evalkit's printed numbers (empty: identical)."""
    problems = []
    for name, metrics in sb.items():
        for metric, fields in metrics.items():
            got = ek.get(name, {}).get(metric)
            if got is None:
                problems.append(f"{name} {metric}: missing in evalkit output")
                continue
            for key, want in fields.items():
                if got.get(key) != want:
                    problems.append(
                        f"{name} {metric} {key}: sacrebleu {want}, evalkit {got.get(key)}"
                    )
    return problems


def _json_systems(stdout: str) -> list[dict]:
    return json.loads(stdout)["testsets"][0]["systems"]


# ------------------------------------------------------------- in-process phase breakdown


@dataclass
class Phases:
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, dt: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + dt


# Top-level stages are disjoint; "statistics" (evaluation._extract) contains the nested ones.
_TOP = (
    "load files",
    "statistics",
    "segment scores",
    "corpus scores",
    "bootstrap resampling",  # one per metric: every CI and paired-bs test reads it
    "paired test",  # approximate randomization
    "script detection",
    "normalizer",
    "render",
)


@contextlib.contextmanager
def phase_timers(phases: Phases) -> Iterator[None]:
    """Wrap evalkit's stage functions with wall-clock accumulators (at most a few hundred calls
    per run, so the overhead is microseconds)."""
    import evalkit.render
    from evalkit import corpus, evaluation
    from evalkit.cache import StatsCache
    from evalkit.metrics import MetricSpec
    from evalkit.normalize import Normalizer

    targets: list[tuple[object, str, Callable[..., str]]] = [
        (corpus, "load_testset", lambda *a: "load files"),
        (evaluation, "_extract", lambda *a: "statistics"),
        (MetricSpec, "extract_stats_many", lambda spec, *a: f"extract {spec.name}"),
        (StatsCache, "get", lambda *a: "cache read"),
        (StatsCache, "put", lambda *a: "cache write"),
        (MetricSpec, "segment_scores", lambda *a: "segment scores"),
        (MetricSpec, "corpus_score", lambda *a: "corpus scores"),
        (evaluation, "bootstrap_scores", lambda *a: "bootstrap resampling"),
        (evaluation, "paired_approximate_randomization", lambda *a: "paired test"),
        (evaluation, "detect_script", lambda *a: "script detection"),
        (Normalizer, "apply", lambda *a: "normalizer"),
        (evalkit.render, "render", lambda *a: "render"),
    ]
    saved = []
    for owner, attr, label in targets:
        orig = getattr(owner, attr, None)
        if orig is None:  # renamed upstream: that stage is simply not broken out
            continue
        saved.append((owner, attr, orig))

        def wrapper(*a, __orig=orig, __label=label, **k):  # noqa: ANN002, ANN003, ANN202
            t0 = time.perf_counter()
            try:
                return __orig(*a, **k)
            finally:
                phases.add(__label(*a), time.perf_counter() - t0)

        functools.update_wrapper(wrapper, orig)
        setattr(owner, attr, wrapper)
    try:
        yield
    finally:
        for owner, attr, orig in reversed(saved):
            setattr(owner, attr, orig)


def format_phases(phases: Phases, total: float) -> str:
    """``stage seconds (share)`` for the disjoint stages, the statistics stage split into
    extraction per metric, cache I/O and cache-key hashing; ``other`` is the rest."""
    s = phases.seconds
    nested = {k: v for k, v in s.items() if k not in _TOP}
    key_hashing = s.get("statistics", 0.0) - sum(nested.values())
    if "statistics" in s:
        nested["cache key hashing"] = max(0.0, key_hashing)
    top = {k: v for k, v in s.items() if k in _TOP}
    top["other (Results, JSON, …)"] = max(0.0, total - sum(top.values()))

    def fmt(items: dict[str, float]) -> list[str]:
        ordered = sorted(items.items(), key=lambda kv: -kv[1])
        return [f"{k} {v:.2f}s ({v / total:.0%})" for k, v in ordered if v >= 0.005]

    parts = fmt(top)
    detail = fmt(nested)
    if detail:
        parts = [
            p + (f" [{', '.join(detail)}]" if p.startswith("statistics") else "") for p in parts
        ]
    return f"total {total:.2f}s: " + "; ".join(parts)


def cli_breakdown(ds: Dataset, test: str, n: int, cache: Path) -> str:
    """The ``evalkit score`` command run in this process (imports already paid) with the stage
    timers on: where a CLI run's time goes after interpreter start-up and imports."""
    from evalkit.cli import main as cli_main

    cmd = evalkit_cmd(ds, test, n, cache)
    argv = cmd[cmd.index("score") :]
    phases = Phases()
    sink = io.StringIO()
    t0 = time.perf_counter()
    with phase_timers(phases), contextlib.redirect_stdout(sink):
        cli_main.main(argv, prog_name="evalkit", standalone_mode=False)
    return format_phases(phases, time.perf_counter() - t0)


def startup_floor(repeat: int) -> tuple[float, float]:
    """Median seconds for a bare interpreter and for importing what ``evalkit score`` imports."""
    mods = "import evalkit.cli, evalkit.cache, evalkit.corpus, evalkit.evaluation, evalkit.render"
    bare = timed(lambda: run([sys.executable, "-c", "pass"]), repeat, 60).seconds
    imports = timed(lambda: run([sys.executable, "-c", mods]), repeat, 60).seconds
    return bare, imports


# ------------------------------------------------------------------------------------ main


@dataclass
class Row:
    pair: str
    case: str
    timing: Timing | None
    ratio_vs: float | None = None  # the sacrebleu seconds this row is compared with
    identical: str = "n/a"
    target: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.timing is None or self.ratio_vs is None:
            return None
        return self.ratio_vs / self.timing.seconds


def _target(ratio: float | None, want: float) -> str:
    if ratio is None:
        return ""
    return f"≥{want:g}× {'met' if ratio >= want else 'MISSED'}"


def bench_dataset(
    ds: Dataset, args: argparse.Namespace, tmp: Path, mismatches: list[str], notes: list[str]
) -> list[Row]:
    rows: list[Row] = []
    n_bs = args.bootstrap
    for test in ("bs", "ar"):
        label = "paired-bs" if test == "bs" else "paired-ar"
        print(f"[{ds.pair}] sacrebleu --{label} …", file=sys.stderr, flush=True)
        sb = timed(lambda t=test: run(sacrebleu_cmd(ds, t, n_bs)), args.repeat, args.slow)
        sb_printed = parse_sacrebleu(sb.output, ds)
        rows.append(Row(ds.pair, f"sacrebleu CLI --{label} (bleu,chrf)", sb, note=_runs(sb)))

        caches: list[Path] = []

        def cold(t: str = test, caches: list[Path] = caches) -> str:
            caches.append(Path(tempfile.mkdtemp(prefix=f"cache-{ds.pair}-{t}-", dir=tmp)))
            return run(evalkit_cmd(ds, t, n_bs, caches[-1]))

        print(f"[{ds.pair}] evalkit CLI --paired {test} cold …", file=sys.stderr, flush=True)
        ek_cold = timed(cold, args.repeat, args.slow)
        print(f"[{ds.pair}] evalkit CLI --paired {test} warm …", file=sys.stderr, flush=True)
        ek_warm = timed(
            lambda t=test, c=caches[-1]: run(evalkit_cmd(ds, t, n_bs, c)), args.repeat, args.slow
        )
        print(f"[{ds.pair}] evalkit CLI --paired {test} warm, statistics only …", file=sys.stderr)

        def warm_stats_only(t: str = test, c: Path = caches[-1]) -> str:
            shutil.rmtree(c / "results", ignore_errors=True)  # keep statistics, drop documents
            return run(evalkit_cmd(ds, t, n_bs, c))

        ek_stats = timed(warm_stats_only, args.repeat, args.slow)
        kinds = (
            ("cold", ek_cold, TARGET_COLD),
            ("warm", ek_warm, TARGET_WARM),
            ("warm (statistics cache only)", ek_stats, None),
        )
        for kind, tm, want in kinds:
            problems = compare(sb_printed, printed_evalkit(_json_systems(tm.output), test))
            mismatches += [f"{ds.pair} evalkit {kind} --paired {test}: {p}" for p in problems]
            row = Row(
                ds.pair,
                f"evalkit CLI {kind} --paired {test} (bleu,chrf)",
                tm,
                ratio_vs=sb.seconds,
                identical="no" if problems else "yes",
                note=_runs(tm),
            )
            row.target = _target(row.ratio, want) if want else "(shown, no target)"
            rows.append(row)
        if test == "bs":
            print(f"[{ds.pair}] stage breakdown of evalkit score in-process …", file=sys.stderr)
            fresh = Path(tempfile.mkdtemp(prefix=f"cache-{ds.pair}-breakdown-", dir=tmp))
            for kind, cache in (("cold", fresh), ("warm", fresh)):
                notes.append(
                    f"{ds.pair} `evalkit score --paired bs` {kind}, in-process after imports: "
                    + cli_breakdown(ds, test, n_bs, cache)
                )
            sb_bs_seconds, sb_bs_printed = sb.seconds, sb_printed
        else:
            notes.append(
                f"{ds.pair}: `evalkit --paired ar --bootstrap {n_bs}` also computes a CI per "
                "system, which sacrebleu --paired-ar does not (--bootstrap 0 would skip them)."
            )

    # In-process API: all four metrics, CIs + paired bootstrap, cold once, then warm.
    from evalkit import corpus, evaluate
    from evalkit.cache import StatsCache
    from evalkit.evaluation import StatsOptions

    api_cache = Path(tempfile.mkdtemp(prefix=f"api-cache-{ds.pair}-", dir=tmp))
    opts = StatsOptions(bootstrap=n_bs, paired="bs")

    def api(phases: Phases | None = None) -> object:
        ctx = phase_timers(phases) if phases is not None else contextlib.nullcontext()
        with ctx:
            ts = corpus.load_testset(str(ds.ref), {n: str(p) for n, p in ds.systems}, lang=ds.lang)
            return evaluate(ts, ALL_METRICS, "none", stats=opts, cache=StatsCache(api_cache))

    results: dict[str, object] = {}

    def api_run(kind: str) -> str:
        phases = Phases()
        t0 = time.perf_counter()
        res = api(phases)
        total = time.perf_counter() - t0
        results.setdefault(kind, res)
        breakdowns.setdefault(kind, format_phases(phases, total))
        return ""

    breakdowns: dict[str, str] = {}
    print(
        f"[{ds.pair}] evalkit API cold, {len(ALL_METRICS)} metrics (TER is slow) …",
        file=sys.stderr,
        flush=True,
    )
    api_cold = timed(lambda: api_run("cold"), 1, 0)
    print(f"[{ds.pair}] evalkit API warm …", file=sys.stderr, flush=True)
    api_warm = timed(lambda: api_run("warm"), args.repeat, args.slow)
    for kind, tm in (("cold", api_cold), ("warm", api_warm)):
        systems = _json_systems(results[kind].to_json())  # type: ignore[attr-defined]
        problems = compare(sb_bs_printed, printed_evalkit(systems, "bs"))
        mismatches += [f"{ds.pair} evalkit API {kind}: {p}" for p in problems]
        row = Row(
            ds.pair,
            f"evalkit API {kind} (bleu,chrf,chrf++,ter; CIs+paired-bs)",
            tm,
            ratio_vs=sb_bs_seconds,
            identical=("no" if problems else "yes") + " (bleu,chrf)",
            note=_runs(tm),
        )
        if kind == "warm":
            ok = tm.seconds < TARGET_ALL_WARM_S
            row.target = f"<{TARGET_ALL_WARM_S:g} s {'met' if ok else 'MISSED'}"
        rows.append(row)
        notes.append(f"{ds.pair} API {kind} breakdown: {breakdowns[kind]}")
    return rows


def _runs(tm: Timing) -> str:
    return "runs " + ", ".join(f"{r:.2f}" for r in tm.runs)


def profile_cold(ds: Dataset, args: argparse.Namespace, top: int = 20) -> str:
    """cProfile of an in-process cold run with the CLI's workload (bleu, chrf, CIs, paired-bs)."""
    import cProfile
    import pstats

    from evalkit import evaluate, load_testset
    from evalkit.evaluation import StatsOptions

    ts = load_testset(str(ds.ref), {n: str(p) for n, p in ds.systems}, lang=ds.lang)
    prof = cProfile.Profile()
    prof.enable()
    evaluate(
        ts, ["bleu", "chrf"], "none", stats=StatsOptions(bootstrap=args.bootstrap, paired="bs")
    )
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def git_state() -> str:
    """``git <short HEAD>`` of the checkout, noting uncommitted changes under evalkit/."""
    try:
        head = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]).strip()
        dirty = run(["git", "-C", str(REPO), "status", "--porcelain", "--", "evalkit"]).strip()
    except (OSError, RuntimeError):
        return "git state unknown"
    return f"git {head}{', evalkit/ has uncommitted changes' if dirty else ''}"


def versions(git: str) -> str:
    import evalkit
    from evalkit.evaluation import versions as ek_versions

    v = ek_versions()
    where = Path(evalkit.__file__).parent
    copy = f"copy taken at start in {where}" if SNAPSHOT else f"live checkout {where}"
    v["evalkit"] += f" ({git}; {copy})"
    return f"python {platform.python_version()}, " + ", ".join(f"{k} {val}" for k, val in v.items())


def print_table(rows: list[Row]) -> None:
    head = [
        "dataset",
        "case",
        "seconds",
        "ratio vs sacrebleu",
        "scores identical",
        "target",
        "runs (s)",
    ]
    body = []
    for r in rows:
        secs = "-" if r.timing is None else f"{r.timing.seconds:.2f}"
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}×"
        body.append(
            [r.pair, r.case, secs, ratio, r.identical, r.target, r.note.removeprefix("runs ")]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))
    print(line)
    print("-" * len(line))
    for b in body:
        cells = [
            (c.rjust(w) if i in (2, 3) else c.ljust(w))
            for i, (c, w) in enumerate(zip(b, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 systems, 300 segments, 100 bootstrap resamples",
    )
    ap.add_argument(
        "--data",
        metavar="DIR",
        help=f"folder holding en-zh/ and zh-en/ [default: {DEFAULT_DATA} if present, "
        "else generated data]",
    )
    ap.add_argument("--systems", type=int, help="use only the first N systems")
    ap.add_argument("--segments", type=int, help="use only the first N segments")
    ap.add_argument("--bootstrap", type=int, help="bootstrap resamples [1000; --quick: 100]")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case; median reported [3]")
    ap.add_argument(
        "--slow",
        type=float,
        default=60.0,
        help="do not repeat a case whose first run took longer than this [60 s]",
    )
    ap.add_argument("--pairs", default=",".join(PAIRS), help="which of en-zh,zh-en to run")
    ap.add_argument(
        "--live",
        action="store_true",
        help="test the live checkout instead of a copy of evalkit/ taken at start (others' "
        "commits during the run would then change the code under test)",
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile an in-process cold bleu+chrf run of the first data set",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.systems = args.systems or 3
        args.segments = args.segments or 300
        args.bootstrap = args.bootstrap or 100
    args.bootstrap = args.bootstrap or 1000

    wanted = [p.strip() for p in args.pairs.split(",") if p.strip()]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-significance-") as tmpdir:
        tmp = Path(tmpdir)
        git = git_state()  # read before the copy is taken
        if not args.live:
            take_snapshot(tmp)
        datasets = [d for d in load_datasets(args, tmp) if d.pair in wanted]
        # Import the in-process API's modules before any timing.
        import evalkit.cache  # noqa: F401
        import evalkit.corpus  # noqa: F401
        import evalkit.evaluation  # noqa: F401

        print("bench_significance: evalkit vs sacrebleu CLI — bootstrap CIs and paired tests")
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"machine: {platform.machine()}, nproc {cpus}, load average at start {load}")
        print(f"versions: {versions(git)}")
        bare, imports = startup_floor(args.repeat)
        print(
            f"start-up floor: python -c pass {bare:.2f} s; importing what `evalkit score` "
            f"imports (pandas, sacrebleu, numpy, …) {imports:.2f} s"
        )
        print(
            f"seed {SEED} (SACREBLEU_SEED unset), bootstrap resamples {args.bootstrap}, "
            "AR trials 10000, baseline = first system, median of up to "
            f"{args.repeat} runs (cases over {args.slow:g} s run once)"
        )
        for ds in datasets:
            print(
                f"data {ds.pair}: {ds.n_segments} segments × {len(ds.systems)} systems, "
                f"target {ds.lang}, from {ds.origin}"
            )
        print(flush=True)

        rows: list[Row] = []
        mismatches: list[str] = []
        notes: list[str] = []
        for ds in datasets:
            rows += bench_dataset(ds, args, tmp, mismatches, notes)

        print(
            f"\nfinished; load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
            f"total {time.perf_counter() - started:.0f} s\n"
        )
        print_table(rows)
        print(
            "\nratio = sacrebleu seconds / evalkit seconds (bs rows vs sacrebleu --paired-bs, "
            "ar rows vs --paired-ar, API rows vs --paired-bs with bleu,chrf only)."
        )
        print(
            f"targets: evalkit cold ≥{TARGET_COLD:g}× and warm ≥{TARGET_WARM:g}× faster than "
            f"sacrebleu end to end; all four metrics warm (API) < {TARGET_ALL_WARM_S:g} s."
        )
        print(
            "scores identical: corpus score, bootstrap mean ± half-width (bs) and p-value, "
            "as sacrebleu prints them with -w 4 (4 decimals)."
        )
        for n in notes:
            print(f"note: {n}")
        if mismatches:
            print(f"\nSCORE MISMATCHES ({len(mismatches)}):")
            for m in mismatches:
                print(f"  MISMATCH {m}")
        else:
            print("\nno score mismatches: every printed sacrebleu number equals evalkit's.")

        if args.profile and datasets:
            print(
                f"\ncProfile, in-process cold bleu+chrf run on {datasets[0].pair} "
                "(no cache), top by cumulative time:"
            )
            print(profile_cold(datasets[0], args))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
