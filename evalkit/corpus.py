"""LOAD: read and validate a test set into a frozen :class:`TestSet`.

References are held in sacrebleu's orientation, ``refs[k][i]``: k reference *streams*, each with
N segments. This is the one orientation used everywhere in evalkit; nothing transposes it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ._io import DEFAULT_MAX_SEGMENT_CHARS, InputFile, read_input
from .errors import ConfigError, EvalkitError, InputError
from .formats import parse_spec

__all__ = [
    "TestSet",
    "default_testset_name",
    "detect_lang",
    "lang_mismatch",
    "load_testset",
    "parse_system_arg",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")


@dataclass(frozen=True)
class TestSet:
    """A segment-aligned test set: k reference streams, optional sources, named systems."""

    __test__ = False  # not a pytest test class

    name: str
    lang: str
    refs: tuple[tuple[str, ...], ...]
    systems: Mapping[str, tuple[str, ...]]
    sources: tuple[str, ...] | None = None
    baseline: str | None = None
    paths: Mapping[str, str] = field(default_factory=dict)

    @property
    def n_segments(self) -> int:
        return len(self.refs[0])

    @property
    def system_names(self) -> tuple[str, ...]:
        return tuple(self.systems)

    @property
    def baseline_name(self) -> str:
        """The system others are compared with: the named baseline, else the first system."""
        return self.baseline or next(iter(self.systems))


def _shares(lines: Iterable[str]) -> tuple[float, float]:
    """(Han, Latin-letter) shares of the non-space characters (0.0 for an empty text)."""
    text = "".join(lines)
    total = sum(map(len, text.split()))  # str.split() drops exactly the isspace() characters
    if not total:
        return 0.0, 0.0
    return len(_CJK_RE.findall(text)) / total, len(_LATIN_RE.findall(text)) / total


def detect_lang(lines: Iterable[str]) -> str:
    """``zh`` when at least a fifth of the non-space characters are Han, else ``en``."""
    return "zh" if _shares(lines)[0] >= 0.2 else "en"


def lang_mismatch(lines: Iterable[str], lang: str) -> str | None:
    """Why a reference looks written in another language than the target ``lang`` given for
    it, else None: mostly (over half) Han characters for ``en``, mostly Latin letters for
    ``zh``. A wrong target language picks the wrong BLEU tokenizer and TER settings, so the
    numbers stop meaning what sacrebleu's would for that language."""
    han, latin = _shares(lines)
    if lang == "en" and han > 0.5:
        return (
            f"the target language is en, but {han:.0%} of its non-space characters are Han "
            "(Chinese: lang zh?)"
        )
    if lang == "zh" and latin > 0.5:
        return (
            f"the target language is zh, but {latin:.0%} of its non-space characters are Latin "
            f"letters and {han:.0%} Han (English: lang en?)"
        )
    return None


def parse_system_arg(arg: str) -> tuple[str, str]:
    """Split a ``NAME=PATH`` or ``PATH`` command-line argument into (name, path).

    A bare path is named after its file name without the extension (and without a compression
    suffix; an XML ``#sys:NAME`` is named NAME). The '=' belongs to a path, not a NAME=PATH
    split, when a '/' comes before it (``runs/lr=0.1/out.zh``: a NAME never contains '/'), when
    the whole argument names an existing file (``lr=0.1.zh``), or when the text before it is not
    a valid NAME and the argument is not a malformed NAME=PATH (then it is read as a file).
    """
    head, _, path = arg.partition("=")
    if "=" in arg and "/" not in head and os.sep not in head and not _names_a_file(arg):
        if head and path and _NAME_RE.match(head):
            return head, path
        raise ConfigError(
            f"malformed system argument {arg!r}: no file of that name, and not NAME=PATH with "
            "NAME made of letters, digits, '_', '-', '.', '+'"
        )
    name = parse_spec(arg).stem  # sysA.zh.gz, sysA.jsonl#translation → sysA; test.xml#sys:B → B
    return name or arg, arg


def _names_a_file(arg: str) -> bool:
    """Whether ``arg`` (or its part before a ``#selector``) is an existing path: a file name
    may contain '=', and an existing file wins over a NAME=PATH reading of its name."""
    return os.path.lexists(arg) or ("#" in arg and os.path.lexists(arg.rpartition("#")[0]))


#: Reference file names that say nothing about the test set (WMT's ``en-zh/ref.zh``): the
#: folder they sit in names it instead.
_GENERIC_STEMS = frozenset({"ref", "refs", "reference", "references", "target", "tgt", "gold"})


def default_testset_name(reference: str) -> str:
    """A test set's name when none is given: the first reference's file name without its
    language, format and compression suffixes (``newstest.zh.gz`` → ``newstest``), or its
    folder's name when that file name is generic (``wmt22/en-zh/ref.zh`` → ``en-zh``)."""
    try:
        stem = parse_spec(reference).stem or Path(reference).stem
    except EvalkitError:
        stem = Path(reference).stem
    if stem.lower() in _GENERIC_STEMS:
        where = urlsplit(reference).path if "://" in reference else reference
        folder = Path(where).parent.name  # as given: a bare ``ref.zh`` keeps its stem
        if folder:
            return folder
    return stem


Input = str | os.PathLike[str] | InputFile
"""A file to read, or one already read once (:class:`evalkit._io.InputFile`)."""


def load_testset(
    refs: Input | Sequence[Input],
    systems: Mapping[str, Input] | Sequence[str] | Input,
    *,
    sources: Input | None = None,
    lang: str | None = None,
    name: str | None = None,
    baseline: str | None = None,
    max_segment_chars: int = DEFAULT_MAX_SEGMENT_CHARS,
) -> TestSet:
    """Read references, candidates and optional sources; check that every file lines up.

    ``systems`` is ``{name: path}``, a list of ``PATH`` / ``NAME=PATH`` strings, or one of them.
    Any path may be an :class:`~evalkit._io.InputFile` already read (a FIFO cannot be read
    twice); the others are read once each, with ``max_segment_chars`` characters per line at
    most. ``lang`` (the target language) is detected from the first reference when omitted.
    """
    ref_paths, pairs = _inputs(refs, systems)

    def read(p: Input) -> InputFile:
        return p if isinstance(p, InputFile) else read_input(p, max_segment_chars=max_segment_chars)

    ref_files = [read(p) for p in ref_paths]
    ref_streams = [f.lines for f in ref_files]
    first = _named(ref_paths[0])
    n = len(ref_streams[0])
    for path, stream in zip(ref_paths[1:], ref_streams[1:], strict=True):
        _check_count(_named(path), len(stream), first, n, "reference")
    src_lines = None
    if sources is not None:
        src_lines = read(sources).lines
        _check_count(_named(sources), len(src_lines), first, n, "source")
    hyps: dict[str, tuple[str, ...]] = {}
    paths: dict[str, str] = {f"ref{k}": _named(p) for k, p in enumerate(ref_paths)}
    if sources is not None:
        paths["source"] = _named(sources)
    for sys_name, path in pairs:
        lines = read(path).lines
        _check_count(_named(path), len(lines), first, n, "candidate")
        hyps[sys_name] = lines
        paths[f"system:{sys_name}"] = _named(path)

    lang = _check_target(lang or detect_lang(ref_streams[0]), baseline, hyps)
    return TestSet(
        name=name or default_testset_name(first),
        lang=lang,
        refs=tuple(ref_streams),
        systems=hyps,
        sources=src_lines,
        baseline=baseline,
        paths=paths,
    )


def _named(path: Input) -> str:
    """How an input is named in messages and results: the path as given."""
    return path.path if isinstance(path, InputFile) else str(path)


def _inputs(
    refs: Input | Sequence[Input],
    systems: Mapping[str, Input] | Sequence[str] | Input,
) -> tuple[list[Input], list[tuple[str, Input]]]:
    """Reference paths and (name, path) systems, with the errors every loader shares."""
    ref_paths = [refs] if isinstance(refs, str | os.PathLike | InputFile) else list(refs)
    if not ref_paths:
        raise ConfigError("at least one reference file is required")
    pairs = _system_pairs(systems)
    if not pairs:
        raise ConfigError("at least one candidate (system output) file is required")
    return ref_paths, pairs


def _check_target(lang: str, baseline: str | None, systems: Iterable[str]) -> str:
    """The target language, lower-cased, once it and the baseline name are known to be valid."""
    lang = lang.lower()
    if lang not in ("zh", "en"):
        raise ConfigError(f"unsupported target language {lang!r}: use zh or en")
    names = list(systems)
    if baseline is not None and baseline not in names:
        raise ConfigError(f"baseline {baseline!r} is not one of the systems: {', '.join(names)}")
    return lang


def _system_pairs(
    systems: Mapping[str, Input] | Sequence[str] | Input,
) -> list[tuple[str, Input]]:
    if isinstance(systems, InputFile):
        systems = {Path(systems.path).stem: systems}
    if isinstance(systems, str | os.PathLike):
        systems = [os.fspath(systems)]  # one file, not a sequence of one-character paths
    pairs: list[tuple[str, Input]] = (
        [(str(k), v if isinstance(v, InputFile) else str(v)) for k, v in systems.items()]
        if isinstance(systems, Mapping)
        else [parse_system_arg(str(s)) for s in systems]
    )
    seen: dict[str, str] = {}
    for sys_name, path in pairs:
        if sys_name in seen:
            raise ConfigError(
                f"duplicate system name {sys_name!r} ({seen[sys_name]} and {_named(path)}); "
                "name them with NAME=PATH"
            )
        seen[sys_name] = _named(path)
    return pairs


def _check_count(
    path: str | os.PathLike[str], count: int, ref_path: str | os.PathLike[str], n: int, what: str
) -> None:
    if count != n:
        raise InputError(
            f"{what} has {count} lines but reference {ref_path} has {n}; "
            "files must be segment-aligned, one segment per line",
            path,
        )
