"""The report in a real headless Chromium: offline, quiet, interactive, and inert to hostile text.

Debian's Chromium is driven through Playwright's sync API (``playwright install`` cannot work
offline). Every request that is not ``file:`` is aborted and recorded. Without Chromium or
Playwright the tests are skipped with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import evalkit
from evalkit.evaluation import StatsOptions
from evalkit.report import write_report
from evalkit.results import Results
from evalkit.streaming import score_files

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = [
    "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{ 7*7 }} javascript:alert(1)",
    '<svg onload=alert(1)> " onmouseover="alert(1)',
]
HOSTILE_SYSTEM = "<img src=x onerror=alert(2)>"
UNIQUE = "zebracrossing"
COPIES = 3  # the 12 fixture segments, three times over, so there is more than one page


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install playwright")
    if not Path(CHROMIUM).exists():
        _unavailable(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        except Error as exc:
            _unavailable(f"Chromium at {CHROMIUM} did not start: {exc}")
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    d = tmp_path_factory.mktemp("browser-data")

    def lines(path: Path) -> list[str]:
        return path.read_text(encoding="utf-8").splitlines() * COPIES

    src = lines(FIXTURES / "article.en") + [f"{UNIQUE} source", *HOSTILE[1:]]
    ref = lines(FIXTURES / "article.zh") + ["斑马线在这里。", "参考。", "参考。", "参考。"]
    strong = lines(FIXTURES / "en-zh" / "strong.zh") + ["斑马线在这里。", *HOSTILE[1:]]
    weak = lines(FIXTURES / "en-zh" / "weak.zh") + ["斑马。", "没有。", "没有。", "没有。"]
    hostile = lines(FIXTURES / "en-zh" / "literal.zh") + HOSTILE
    files = {"src": src, "ref": ref, "strong": strong, "weak": weak, "hostile": hostile}
    for name, text in files.items():
        (d / f"{name}.txt").write_text("\n".join(text) + "\n", encoding="utf-8")
    ts = evalkit.load_testset(
        d / "ref.txt",
        {"strong": d / "strong.txt", "weak": d / "weak.txt", HOSTILE_SYSTEM: d / "hostile.txt"},
        sources=d / "src.txt",
        lang="zh",
        name="browser",
        baseline="strong",
    )
    res = evalkit.evaluate(ts, metrics=["bleu", "chrf"])  # two metrics are enough here
    (t,) = res.testsets
    systems = tuple(
        dataclasses.replace(s, warnings=(HOSTILE[0], HOSTILE[1])) if s.name == HOSTILE_SYSTEM else s
        for s in t.systems
    )
    return dataclasses.replace(res, testsets=(dataclasses.replace(t, systems=systems),))


@pytest.fixture(scope="module")
def report(results: Results, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("browser-report") / "report.html"
    write_report(results, path, created=datetime(2026, 1, 2, tzinfo=timezone.utc))
    return path


class Watch:
    """What the page did that it must not: errors, requests off the machine, dialogs."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []


@contextlib.contextmanager
def _open(browser: Any, report: Path, ready: str) -> Iterator[tuple[Any, Watch]]:
    """Open ``report`` offline, wait for ``ready``; on leaving, check the page stayed quiet."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(5000)
    watch = Watch()
    page.on("console", lambda m: m.type == "error" and watch.errors.append(m.text))
    page.on("pageerror", lambda e: watch.errors.append(str(e)))
    page.on("request", lambda r: watch.requests.append(r.url))

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
    )
    page.goto(report.as_uri())
    page.wait_for_selector(ready)
    yield page, watch
    context.close()
    assert not watch.errors, watch.errors
    assert not watch.dialogs, f"a hostile text ran: {watch.dialogs}"
    assert [u for u in watch.requests if not u.startswith("file:")] == []


@pytest.fixture
def page(browser: Any, report: Path) -> Iterator[tuple[Any, Watch]]:
    with _open(browser, report, "li.seg") as opened:
        yield opened


def _wait_for_segments(page: Any, count: int) -> None:
    """Wait for the debounced search; locator polling, since the page's CSP forbids eval."""
    from playwright.sync_api import expect

    expect(page.locator("li.seg")).to_have_count(count)


def _status(page: Any) -> str:
    return page.locator(".ex-status").inner_text()


def _segments(page: Any) -> list[int]:
    return [
        int(x)
        for x in page.locator("li.seg").evaluate_all(
            "els => els.map(e => e.getAttribute('data-seg'))"
        )
    ]


def test_page_loads_offline_quietly_and_screenshots(
    page: tuple[Any, Watch], report: Path, tmp_path: Path
) -> None:
    pg, watch = page
    assert pg.title() == "browser: zh target, 40 segments"  # what was scored, not "evalkit report"
    assert pg.locator("figure svg").count() == 3
    assert pg.locator("li.seg").count() == 25
    shot = tmp_path / "report.png"
    pg.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert watch.requests and all(u.startswith("file:") for u in watch.requests)


def test_clicking_a_header_sorts_the_leaderboard(page: tuple[Any, Watch], results: Results) -> None:
    pg, _ = page
    ts = results.testsets[0]
    names = pg.locator("table.board tbody th .sys")
    first = ts.metrics[0]  # the page opens with the baseline first, then best first by it
    others = [s for s in ts.systems if s.name != ts.baseline]
    ranked = sorted(others, key=lambda s: (1 if first == "ter" else -1) * s.scores[first].score)
    assert names.all_inner_texts() == [ts.baseline, *(s.name for s in ranked)]
    header = pg.locator("table.board thead th").nth(1)  # BLEU: higher is better, best first
    header.click()
    by_bleu = sorted(ts.systems, key=lambda s: -s.scores["bleu"].score)
    assert names.all_inner_texts() == [s.name for s in by_bleu]
    assert header.get_attribute("aria-sort") == "descending"
    header.click()
    assert names.all_inner_texts() == [s.name for s in reversed(by_bleu)]
    pg.locator("table.board thead th").first.click()  # by name
    assert names.all_inner_texts() == sorted((s.name for s in ts.systems), key=str.lower)


def test_search_narrows_the_explorer(page: tuple[Any, Watch], results: Results) -> None:
    pg, _ = page
    n = results.testsets[0].segments
    assert _status(pg).startswith(f"Segments 1–25 of {n}")
    pg.fill(".ex-search", UNIQUE)
    _wait_for_segments(pg, 1)
    assert _segments(pg) == [n - 3]
    assert "matching" in _status(pg)
    pg.fill(".ex-search", "no such text anywhere")
    _wait_for_segments(pg, 0)
    assert _status(pg) == "No segment matches."


def test_system_filter_shows_one_candidate_per_segment(page: tuple[Any, Watch]) -> None:
    pg, _ = page
    assert pg.locator("li.seg").first.locator("table.cands tbody tr").count() == 3
    pg.select_option(".ex-system", label="weak")
    names = pg.locator("li.seg table.cands tbody th.sys").evaluate_all(
        "els => els.map(e => e.firstChild.textContent)"
    )
    assert len(names) == 25 and set(names) == {"weak"}


def test_worst_first_and_difference_sorts(page: tuple[Any, Watch], results: Results) -> None:
    pg, _ = page
    sd = results.testsets[0].segment_data
    pg.select_option(".ex-system", label="weak")
    weak = [round(x, 2) for x in sd.scores["weak"]["bleu"]]  # the page sorts what it shows
    strong = [round(x, 2) for x in sd.scores["strong"]["bleu"]]
    first = _segments(pg)[0]
    assert weak[first - 1] == min(weak)
    pg.select_option(".ex-system", value="")
    pg.select_option(".ex-sort", value="diff")
    pg.select_option(".ex-a", label="weak")
    pg.select_option(".ex-b", label="strong")
    gaps = [round(w - s, 6) for w, s in zip(weak, strong, strict=True)]
    shown = _segments(pg)
    assert [gaps[i - 1] for i in shown] == sorted(gaps)[:25]


def test_paging(page: tuple[Any, Watch], results: Results) -> None:
    pg, _ = page
    n = results.testsets[0].segments
    pg.select_option(".ex-sort", value="order")
    assert _segments(pg) == list(range(1, 26))
    assert pg.locator(".ex-prev").is_disabled()
    pg.click(".ex-next")
    assert _segments(pg) == list(range(26, n + 1))
    assert re.search(rf"Segments 26–{n} of {n} · page 2 of 2", _status(pg))
    assert pg.locator(".ex-next").is_disabled()
    pg.click(".ex-prev")
    assert _segments(pg)[0] == 1
    pg.select_option(".ex-size", value="10")
    assert _segments(pg) == list(range(1, 11))
    pg.click(".ex-last")
    assert _segments(pg) == list(range(31, n + 1))


def test_hostile_segments_render_as_text_and_run_nothing(
    page: tuple[Any, Watch], results: Results
) -> None:
    pg, watch = page
    n = results.testsets[0].segments
    pg.select_option(".ex-sort", value="order")
    pg.select_option(".ex-diff", value="full")
    pg.click(".ex-last")
    last = pg.locator(f"li.seg[data-seg='{n}']")
    text = last.inner_text()
    assert HOSTILE[-1] in text and HOSTILE_SYSTEM in text
    pg.fill(".ex-search", "onerror")
    _wait_for_segments(pg, 1)
    cells = pg.locator("li.seg table.cands td.txt").all_inner_texts()
    assert any(HOSTILE[1] in c for c in cells)
    assert pg.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert pg.evaluate("document.querySelectorAll('script').length") == 2  # code + one data block
    assert (
        pg.evaluate(
            "[...document.querySelectorAll('*')].filter(e => [...e.attributes]"
            ".some(a => a.name.startsWith('on'))).length"
        )
        == 0
    )
    warn = pg.locator("table.board details.warn")
    warn.locator("summary").click()
    assert warn.locator("li").all_inner_texts() == HOSTILE[:2]
    assert pg.locator("div.warnings li").all_inner_texts() == [
        f"{HOSTILE_SYSTEM}: {w}" for w in HOSTILE[:2]
    ]
    options = pg.locator(".ex-system option").all_inner_texts()
    assert HOSTILE_SYSTEM in options
    assert pg.locator("table.board tbody").inner_text().count(HOSTILE_SYSTEM) == 1
    assert watch.dialogs == []


@pytest.fixture(scope="module")
def streamed_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A streamed test set (no segment data), with CIs, pairwise tests and warnings."""
    res = score_files(
        FIXTURES / "article.zh",
        {n: FIXTURES / "en-zh" / f"{n}.zh" for n in ("strong", "traditional", "truncated")},
        metrics=["bleu", "chrf"],
        name="streamed",
        stats=StatsOptions(bootstrap=100, paired="bs", pairwise=True),
    )
    assert res.testsets[0].segment_data is None
    path = tmp_path_factory.mktemp("browser-streamed") / "report.html"
    write_report(res, path, created=datetime(2026, 1, 2, tzinfo=timezone.utc))
    return path


def test_streamed_report_loads_quietly_and_its_tables_work(
    browser: Any, streamed_report: Path
) -> None:
    with _open(browser, streamed_report, "table.board") as (pg, _):
        assert pg.locator("p.note.streamed").is_visible()
        assert pg.locator("figure svg").count() == 1  # the corpus score chart only
        assert pg.locator("li.seg, [data-explorer]").count() == 0
        assert pg.locator("table.pairwise").count() == 2
        names = pg.locator("table.board tbody th .sys")
        pg.locator("table.board thead th").first.click()
        assert names.all_inner_texts() == ["strong", "traditional", "truncated"]
        warn = pg.locator("table.board details.warn").filter(has_text="1 warning").last
        assert not warn.locator("li").is_visible()
        warn.locator("summary").click()
        assert warn.locator("li").inner_text() == "2 empty output segments"


def test_flag_filter_shows_the_segments_flagged_as_a_kind(
    page: tuple[Any, Watch], results: Results
) -> None:
    pg, _ = page
    ts = results.testsets[0]
    flagged = {
        kind: sorted({i + 1 for s in ts.systems for i in s.diagnostics[kind]["segments"]})
        for kind in ts.systems[0].diagnostics
    }
    kind = max(flagged, key=lambda k: len(flagged[k]))  # the kind flagged most often
    assert flagged[kind], "the browser test set must flag something"
    pg.select_option(".ex-sort", value="order")
    pg.select_option(".ex-size", value="100")
    pg.select_option(".ex-flag", value=kind)
    _wait_for_segments(pg, len(flagged[kind]))
    assert _segments(pg) == flagged[kind]
    badges = pg.locator("li.seg th.sys .badge.flag").all_text_contents()
    assert kind in badges
    pg.select_option(".ex-flag", value="")
    _wait_for_segments(pg, min(100, ts.segments))


def test_the_explorer_search_placeholder_is_not_cut_off(page: tuple[Any, Watch]) -> None:
    pg, _ = page
    room, needed = pg.evaluate(
        """() => {
        const box = document.querySelector('.ex-search');
        const style = getComputedStyle(box);
        const ctx = document.createElement('canvas').getContext('2d');
        ctx.font = style.font;
        const pad = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
        return [box.clientWidth - pad, ctx.measureText(box.placeholder).width];
    }"""
    )
    assert needed <= room, (needed, room)
