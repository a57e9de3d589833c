"""WMT XML test sets (WMT21 onwards): ``<dataset><collection><doc><src><p><seg id=…>``, with
references by translator and system outputs by name in the same file.

Segments come out exactly as sacrebleu's own reader (``sacrebleu/dataset/wmt_xml.py``) writes
them to its text files: documents in file order (``testsuite`` ones skipped), segments by
numeric id, only those with a non-empty reference by some translator, each ``seg.text`` with
its whitespace collapsed. Where sacrebleu would quietly write an empty line (a translator or a
system lacking a segment), this reader names the segment instead.

The parser is lxml's, fed in blocks, one ``<doc>`` kept at a time, with entities left
unresolved, no DTD loaded, no network; a document with a DOCTYPE is refused before the parser
sees it, so no entity can be declared, let alone expanded.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from .._io import SegmentLimit, checked_blocks
from ..errors import ConfigError, InputError

__all__ = ["wmtxml_segments"]

_SPACE = re.compile(r"\s+")
_ROOT = re.compile(rb"<[A-Za-z_:]")  # where the root element starts: the prolog ends


def _clean(text: str | None) -> str:
    """sacrebleu's ``Dataset._clean``: strip, then collapse every run of whitespace."""
    return _SPACE.sub(" ", (text or "").strip())


@dataclass
class _Column:
    """One translator's references or one system's outputs, and the first segment it lacks."""

    lines: list[str] = field(default_factory=list)
    problem: tuple[str, int | None] | None = None


@dataclass
class _Reader:
    """What a selector asks for (``kind``: src, ref or sys; ``name``: a translator or system,
    None for ``#ref`` without one) and what the documents read so far gave."""

    label: str
    kind: str
    name: str | None
    limit: int
    src: list[str] = field(default_factory=list)
    columns: dict[tuple[str, str | None], _Column] = field(default_factory=dict)
    seen: dict[str, set[str | None]] = field(default_factory=lambda: {"ref": set(), "sys": set()})
    kept: int = 0
    first_kept: tuple[str, int | None] | None = None

    def tracked(self, kind: str, name: str | None) -> bool:
        self.seen[kind].add(name)
        if kind != self.kind:
            return False
        return self.name == name or (kind == "ref" and self.name is None)

    def doc(self, doc: Any) -> None:
        if "testsuite" in doc.attrib:
            return
        doc_id = doc.get("id")
        src = {self._id(seg): seg for seg in doc.findall(".//src//seg")}
        refs = {ref.get("translator"): self._texts(ref) for ref in doc.findall(".//ref")}
        hyps = {hyp.get("system"): self._texts(hyp) for hyp in doc.findall(".//hyp")}
        wanted = {
            (kind, name): texts
            for kind, table in (("ref", refs), ("sys", hyps))
            for name, texts in table.items()
            if self.tracked(kind, name)
        }
        for key in wanted:
            if key not in self.columns:  # first seen now: it lacks every segment kept so far
                self.columns[key] = _Column(problem=self._lacks(key, self.first_kept))
        for seg_id in sorted(src):
            if not any(texts.get(seg_id, "") for texts in refs.values()):
                continue  # no reference: sacrebleu drops the segment
            line = src[seg_id].sourceline
            where = (f"segment {seg_id} of doc {doc_id}", line)
            self.first_kept = self.first_kept or where
            self.kept += 1
            self.src.append(self._checked(src[seg_id].text, where))
            for key, column in self.columns.items():
                texts = wanted.get(key, {})
                if seg_id not in texts:
                    column.problem = column.problem or self._lacks(key, where)
                    column.lines.append("")
                else:
                    column.lines.append(self._checked(texts[seg_id], where))

    def segments(self) -> list[str]:
        if self.kind == "src":
            return self._nonempty(self.src)
        names = self.seen[self.kind]
        name = self.name
        if self.kind == "ref" and name is None and None not in names and names:
            name = min(n for n in names if n is not None)  # sacrebleu --echo ref does this
        column = self.columns.get((self.kind, name))
        if column is None or name not in names:
            what = "references by translator" if self.kind == "ref" else "outputs of system"
            listed = ", ".join(sorted(str(n) for n in names)) or "none"
            kinds = "translators" if self.kind == "ref" else "systems"
            raise InputError(f"no {what} {name} ({kinds} in the file: {listed})", self.label)
        if column.problem is not None:
            raise InputError(column.problem[0], self.label, column.problem[1])
        return self._nonempty(column.lines)

    def _nonempty(self, lines: list[str]) -> list[str]:
        if not lines:
            raise InputError("no segments (no <seg> with a reference)", self.label)
        return lines

    def _lacks(
        self, key: tuple[str, str | None], where: tuple[str, int | None] | None
    ) -> tuple[str, int | None] | None:
        if where is None:
            return None
        kind, name = key
        if kind == "ref":
            by = f"by translator {name}" if name is not None else "without a translator"
            return f"{where[0]} has no reference {by}", where[1]
        return f"{where[0]} has no translation by system {name}", where[1]

    def _texts(self, part: Any) -> dict[int, str]:
        return {self._id(seg): seg.text or "" for seg in part.findall(".//seg")}

    def _id(self, seg: Any) -> int:
        value = seg.get("id")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise InputError(
                f"<seg> id {value!r} is not a number", self.label, seg.sourceline
            ) from None

    def _checked(self, text: str | None, where: tuple[str, int | None]) -> str:
        cleaned = _clean(text)
        if len(cleaned) > self.limit:
            raise InputError(
                f"{where[0]} is longer than the segment length limit of {self.limit:,} "
                "characters (raise it with --max-segment-chars)",
                self.label,
                where[1],
            )
        return cleaned


def _parse_selector(selector: str, label: str) -> tuple[str, str | None]:
    kind, _, name = selector.partition(":")
    if kind == "src" and not name:
        return "src", None
    if kind == "ref":
        return "ref", name or None
    if kind == "sys" and name:
        return "sys", name
    raise ConfigError(
        f"{label}#{selector}: a WMT XML selector is #src, #ref, #ref:TRANSLATOR or #sys:NAME"
    )


def wmtxml_segments(
    fh: BinaryIO, selector: str, label: str | os.PathLike[str], max_segment_chars: int
) -> Iterator[list[str]]:
    """The segments ``#src``, ``#ref`` (references without a translator, else the first
    translator by name, as ``sacrebleu --echo ref``), ``#ref:B`` or ``#sys:NAME`` select."""
    from lxml import etree

    name = os.fspath(label)
    kind, who = _parse_selector(selector, name)
    reader = _Reader(name, kind, who, max_segment_chars)
    parser = etree.XMLPullParser(
        events=("end",),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
    )
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = SegmentLimit(1 << 62, label)  # counts lines and finds NUL bytes; no length limit
    prolog = b""  # the bytes before the root element, until it starts
    try:
        for block, first_line in checked_blocks(fh, lines):
            _check_utf8(decoder, block, label, first_line)
            if prolog is not None:
                prolog += block
                root = _ROOT.search(prolog)
                if b"<!DOCTYPE" in (prolog[: root.start()] if root else prolog):
                    raise InputError(
                        "has a DOCTYPE: DTDs and entities are refused (a WMT test set has neither)",
                        label,
                    )
                prolog = None if root else prolog
            parser.feed(block)
            for event, element in parser.read_events():
                if event == "end" and element.tag == "doc":
                    reader.doc(element)
                    element.clear(keep_tail=True)
                    while element.getprevious() is not None:
                        del element.getparent()[0]
        _check_utf8(decoder, b"", label, lines.line, final=True)
        parser.close()
    except etree.XMLSyntaxError as exc:
        # the log's last entry is this error's cause (exc.msg can be "no element found" at
        # line 0 when an undefined entity stopped the parser); earlier entries may be stale
        last = exc.error_log.last_error
        message, line = (last.message, last.line) if last else (exc.msg, exc.lineno)
        raise InputError(f"not well-formed XML: {message}", label, line or None) from None
    yield reader.segments()


def _check_utf8(
    decoder: codecs.IncrementalDecoder,
    block: bytes,
    label: str | os.PathLike[str],
    first_line: int,
    *,
    final: bool = False,
) -> None:
    """Invalid UTF-8 is reported as for text files, with its line, before lxml sees it."""
    try:
        decoder.decode(block, final)
    except UnicodeDecodeError as exc:
        line = first_line + exc.object.count(b"\n", 0, exc.start)
        raise InputError(
            f"invalid UTF-8 (byte 0x{exc.object[exc.start]:02x}); the file must be UTF-8 encoded",
            label,
            line,
        ) from None
