"""Score (source, candidate, reference) triples with an external metric, through a cache.

The cache is the translation cache's machinery (evalkit.translators.cache: one checksummed,
fsync-ed JSON Lines record per finished item, torn lines skipped), keyed by the metric's
fingerprint and the three texts, so a re-run computes only the triples it has not seen and an
interrupted run keeps every finished batch. Work is scheduled by the translators' runner: metric
commands one batch process at a time (they usually hold a GPU), judge requests ``jobs`` at a
time. Commands run in their own process group under a timeout (translators.command).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from ..errors import EvalkitError
from ..translators.cache import CachedSegment, TranslationCache, segment_key
from ..translators.command import ProcessError, last_line, run_process
from ..translators.runner import schedule
from ..translators.work import Unit, UnitResult, batches
from .config import ExternalMetric, fill
from .outputs import parse_scores

__all__ = ["Triple", "score_triples"]

Triple = tuple[str, str, str]
"""(source, candidate, reference); ``""`` where the metric does not use that text."""

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
_LANG_NAMES = {"zh": "Chinese", "en": "English"}


def score_triples(
    metric: ExternalMetric,
    triples: Sequence[Triple],
    segments: Sequence[int],
    *,
    source_lang: str,
    target_lang: str,
) -> list[float]:
    """One score per triple; ``segments`` are their 1-based segment numbers (for messages)."""
    fingerprint = metric.fingerprint()
    keys = [
        segment_key(fingerprint, source_lang, target_lang, json.dumps(t, ensure_ascii=False))
        for t in triples
    ]
    cache = (
        TranslationCache(
            metric.cache_dir, fingerprint, f"metric {metric.name}: {metric.describe()}"
        )
        if metric.cache_dir is not None
        else None
    )
    known = cache.load() if cache is not None else {}
    scores: dict[str, float] = {}
    for key in set(keys) & known.keys():
        try:
            scores[key] = float(known[key].text)
        except ValueError:  # not a score: compute it again
            pass
    pending: dict[str, int] = {}  # key → index of its first triple
    for i, key in enumerate(keys):
        if key not in scores:
            pending.setdefault(key, i)
    if pending:
        unit_keys: dict[int, list[str]] = {}

        def finished(unit: Unit, result: UnitResult) -> None:
            entries = [
                (k, CachedSegment(text))
                for k, text in zip(unit_keys.pop(unit.number), result.texts, strict=True)
            ]
            if cache is not None:
                cache.append(entries)  # durable before it counts as done
            scores.update((k, float(text.text)) for k, text in entries)

        def units() -> Iterator[Unit]:
            size = 1 if metric.kind == "judge" else metric.batch_size or len(pending)
            for number, keys, indices in batches(list(pending.items()), size):
                unit_keys[number] = keys
                yield Unit(
                    number,
                    tuple(segments[i] for i in indices),
                    tuple(json.dumps(triples[i], ensure_ascii=False) for i in indices),
                )

        jobs = metric.jobs if metric.kind == "judge" else 1
        stop = threading.Event()
        with _backend(metric, jobs, stop, source_lang, target_lang) as work:
            schedule(units(), work, jobs, stop, finished)
    return [scores[k] for k in keys]


def _backend(
    metric: ExternalMetric, jobs: int, stop: threading.Event, source_lang: str, target_lang: str
) -> AbstractContextManager[Callable[[Unit], UnitResult]]:
    if metric.kind == "command":
        return nullcontext(_CommandWork(metric, stop))
    return _JudgeWork(metric, jobs, stop, source_lang, target_lang)


def _triples(unit: Unit) -> list[Triple]:
    return [tuple(json.loads(s)) for s in unit.sources]  # type: ignore[misc]


class _CommandWork:
    """One process per batch: the batch's texts in ``{src}``/``{hyp}``/``{ref}`` files, scores
    from stdout or the ``{out}`` file."""

    def __init__(self, metric: ExternalMetric, stop: threading.Event) -> None:
        self.metric = metric
        self.stop = stop
        self.env = {**os.environ}
        self.env.setdefault("PYTHONIOENCODING", "utf-8")

    def __call__(self, unit: Unit) -> UnitResult:
        m = self.metric
        triples = _triples(unit)
        for number, triple in zip(unit.segments, triples, strict=True):
            if any("\n" in t or "\r" in t for t in triple):
                raise m.error(
                    f"segment {number} contains a line break; a line-based metric command "
                    "cannot receive it"
                )
        with tempfile.TemporaryDirectory(prefix="evalkit-metric-") as tmp:
            files = {name: str(Path(tmp) / f"{name}.txt") for name in ("src", "hyp", "ref")}
            files["out"] = str(Path(tmp) / ("out.json" if m.output == "comet-json" else "out.txt"))
            for column, name in enumerate(("src", "hyp", "ref")):
                Path(files[name]).write_text(
                    "".join(t[column] + "\n" for t in triples), encoding="utf-8"
                )
            argv = [fill(arg, files) for arg in m.argv]
            try:
                out, err, status = run_process(argv, m.cwd, self.env, b"", m.timeout, self.stop)
            except ProcessError as exc:
                raise self._error(unit, str(exc)) from None
            if status != 0:
                detail = last_line(err)
                raise self._error(
                    unit, f"exited with status {status}" + (f": {detail}" if detail else "")
                )
            text = self._read(unit, out, Path(files["out"]))
        try:
            scores = parse_scores(m.output, text, len(triples))
        except ValueError as exc:
            raise self._error(unit, str(exc)) from None
        return UnitResult(tuple(repr(s) for s in scores), None)

    def _read(self, unit: Unit, stdout: bytes, out: Path) -> str:
        m = self.metric
        if "out" in m.uses and m.output != "comet":
            try:
                return out.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise self._error(unit, "did not write its {out} file") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise self._error(unit, f"wrote an unreadable {{out}} file: {exc}") from None
        try:
            return stdout.decode("utf-8")
        except UnicodeDecodeError:
            raise self._error(unit, "wrote invalid UTF-8 on stdout") from None

    def _error(self, unit: Unit, problem: str) -> EvalkitError:
        n = len(unit.segments)
        return self.metric.error(
            f"{self.metric.describe()} {problem} (batch {unit.number}, {n} segment"
            f"{'s' if n != 1 else ''})"
        )


class _JudgeWork:
    """One chat request per triple through the translators' endpoint client (concurrency,
    retries with back-off, whole-request deadline, key scrubbed); the first number in the answer
    is the score, and an answer without one is asked again up to ``retries`` times."""

    def __init__(
        self,
        metric: ExternalMetric,
        jobs: int,
        stop: threading.Event,
        source_lang: str,
        target_lang: str,
    ) -> None:
        from ..translators.config import TranslatorConfig
        from ..translators.endpoint import EndpointBackend

        self.metric = metric
        self.langs = {
            "source_lang": _LANG_NAMES.get(source_lang, source_lang),
            "target_lang": _LANG_NAMES.get(target_lang, target_lang),
        }
        config = TranslatorConfig(
            name=metric.name,
            suite_path=metric.where or Path("."),
            endpoint=metric.endpoint,
            model=metric.model,
            prompt="{{ source }}",  # the judge prompt is filled here and sent as it is
            temperature=metric.temperature,
            api_key_env=metric.api_key_env,
            timeout=metric.timeout,
            retries=metric.retries,
            backoff=metric.backoff,
        )
        with self._renamed():
            self.backend = EndpointBackend(
                config, jobs=jobs, stop=stop, source_lang=source_lang, target_lang=target_lang
            )

    def __enter__(self) -> _JudgeWork:
        return self

    def __exit__(self, *exc: object) -> None:
        self.backend.__exit__(*exc)

    def _renamed(self) -> AbstractContextManager[None]:
        return _MetricErrors(self.metric)

    def __call__(self, unit: Unit) -> UnitResult:
        ((source, hyp, ref),) = _triples(unit)
        values = {**self.langs, "source": source, "reference": ref, "translation": hyp}
        prompt = fill(self.metric.prompt, values)
        answer = ""
        for _ in range(self.metric.retries + 1):
            with self._renamed():
                answer = self.backend(Unit(unit.number, unit.segments, (prompt,))).texts[0]
            found = _NUMBER.search(answer)
            if found:
                return UnitResult((repr(float(found.group())),), None)
        shown = " ".join(answer.split())[:80]
        raise self.metric.error(
            f"segment {unit.segments[0]}: no score in the judge's answer after "
            f"{self.metric.retries + 1} attempts (last answer: {shown!r})"
        )


class _MetricErrors:
    """Re-word the endpoint client's ``system 'NAME': …`` errors as ``metric 'NAME': …``."""

    def __init__(self, metric: ExternalMetric) -> None:
        self.metric = metric

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, EvalkitError):
            prefix = f"system {self.metric.name!r}"
            message = exc.message
            if message.startswith(prefix):
                message = f"metric {self.metric.name!r}" + message[len(prefix) :]
            raise type(exc)(message, self.metric.where) from None
