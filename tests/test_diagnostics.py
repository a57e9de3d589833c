"""Per-segment diagnostics (issue 15): each kind found where it is and nowhere else, carried by
results.json (schema 3, older schemas still read), the terminal, the report and the gate.

Every sentence here is written for these tests; none comes from a dataset.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import lxml.html
import pytest

import evalkit
from evalkit.diagnostics import KINDS, DiagnosticsConfig, diagnose_systems
from evalkit.errors import ConfigError, InputError
from evalkit.evaluation import StatsOptions
from evalkit.render import render_table
from evalkit.report import render_report
from evalkit.streaming import score_files
from evalkit.suite import load_suite

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NO_STATS = StatsOptions(0, "none")

# zh → en: ten Chinese sources, their English references, and a good system.
SRC = [
    "今天早上的会议讨论了新的预算计划。",
    "工程师们在周末修复了服务器的故障。",
    "这家公司去年在三个城市开设了新办公室。",
    "学生们在图书馆里安静地准备期末考试。",
    "新的铁路线将把两座城市的通行时间缩短一半。",
    "研究人员发布了一个更小但更快的语言模型。",
    "市政府计划在河边修建一座新的公园。",
    "这本书讲述了一位年轻画家在巴黎的生活。",
    "天气预报说明天下午会有大雨和强风。",
    "团队花了三个月时间重写了整个测试框架。",
]
REF = [
    "This morning's meeting discussed the new budget plan.",
    "The engineers fixed the server failure over the weekend.",
    "Last year the company opened new offices in three cities.",
    "The students quietly prepared for their final exams in the library.",
    "The new railway line will cut the travel time between the two cities in half.",
    "Researchers released a smaller but faster language model.",
    "The city government plans to build a new park by the river.",
    "The book tells the story of a young painter's life in Paris.",
    "The forecast says there will be heavy rain and strong wind tomorrow afternoon.",
    "The team spent three months rewriting the whole test framework.",
]
GOOD = [
    "The meeting this morning talked about the new budget plan.",
    "Engineers repaired the server fault during the weekend.",
    "The company opened new offices in three cities last year.",
    "Students were quietly preparing for final exams in the library.",
    "The new rail line will halve the travel time between the two cities.",
    "Researchers have released a smaller yet faster language model.",
    "The city government intends to build a new park beside the river.",
    "The book describes the life of a young painter in Paris.",
    "The weather forecast says heavy rain and strong winds are expected tomorrow afternoon.",
    "The team took three months to rewrite the entire test framework.",
]


def flawed() -> list[str]:
    """GOOD with one failure mode per segment (segment 9 untouched)."""
    out = list(GOOD)
    out[0] = ""  # empty
    out[1] = "工程师们周末把服务器修好了。"  # off target (Chinese, not a copy)
    out[2] = SRC[2]  # untranslated (and so off target too)
    out[3] = "Here is the translation: " + GOOD[3]  # chatter
    out[4] = "The new rail line " + "will halve the time " * 8  # repetition
    out[5] = GOOD[5] + " " + " ".join(GOOD[6:9])  # too long: a hallucinated continuation
    out[6] = "The city"  # too short: truncated
    out[7] = GOOD[7] + " I hope this helps!"  # chatter (a closing)
    out[8] = "“" + GOOD[8] + "”"  # chatter (quotes around the whole output)
    return out


def make_testset(systems: dict[str, list[str]]) -> evalkit.TestSet:
    return evalkit.TestSet(
        name="zh-en",
        lang="en",
        refs=(tuple(REF),),
        systems={k: tuple(v) for k, v in systems.items()},
        sources=tuple(SRC),
        baseline="good",
    )


@pytest.fixture(scope="module")
def results() -> evalkit.Results:
    return evalkit.evaluate(
        make_testset({"good": GOOD, "flawed": flawed()}), "bleu,chrf", stats=NO_STATS
    )


def test_each_kind_is_found_on_its_segment_and_a_good_system_is_not_flagged(
    results: evalkit.Results,
) -> None:
    ts = results.testsets[0]
    found = {k: v["segments"] for k, v in ts.system("flawed").diagnostics.items()}
    assert found == {
        "empty": [0],
        "off_target": [1, 2],
        "untranslated": [2],
        "chatter": [3, 7, 8],
        "repetition": [4],
        "too_long": [5],
        "too_short": [6],
    }
    assert all(v["count"] == 0 for v in ts.system("good").diagnostics.values())


def test_chatter_spans_cover_the_wrapping_not_the_translation(results: evalkit.Results) -> None:
    chatter = results.testsets[0].system("flawed").diagnostics["chatter"]
    hyps = flawed()
    marked = [[hyps[i][s:e] for s, e in spans] for i, spans in zip(
        chatter["segments"], chatter["spans"], strict=True
    )]  # fmt: skip
    assert marked == [["Here is the translation: "], [" I hope this helps!"], ["“", "”"]]


def test_counts_and_rates_are_per_segment_of_the_test_set(results: evalkit.Results) -> None:
    diag = results.testsets[0].system("flawed").diagnostics
    assert list(diag) == list(KINDS)  # every kind present, count 0 included
    assert diag["chatter"]["count"] == 3 and diag["chatter"]["rate"] == pytest.approx(0.3)


def test_a_reference_that_copies_the_source_excuses_the_copy() -> None:
    src = ["Python 3.12", *SRC[1:]]
    ref = ["Python 3.12", *REF[1:]]
    hyps = ["Python 3.12", *GOOD[1:]]
    found = diagnose_systems(src, ref, {"s": hyps}, "en")["s"]
    assert found.segments["untranslated"] == ()


def test_quotes_in_the_reference_excuse_quotes_in_the_output() -> None:
    ref = list(REF)
    ref[8] = "“" + REF[8] + "”"
    hyps = list(GOOD)
    hyps[8] = "“" + GOOD[8] + "”"
    assert diagnose_systems(SRC, ref, {"s": hyps}, "en")["s"].segments["chatter"] == ()


def test_chinese_target_off_target_and_chatter_are_found() -> None:
    refs = SRC  # the Chinese side as reference of an en → zh test set
    hyps = list(SRC)
    hyps[0] = "This morning the meeting discussed the budget."  # English answer: off target
    hyps[1] = "以下是翻译：" + SRC[1]  # a Chinese preamble
    hyps[2] = SRC[2] + "希望对你有帮助！"  # a Chinese closing
    found = diagnose_systems(REF, refs, {"s": hyps}, "zh")["s"]
    assert found.segments["off_target"] == (0,)
    assert found.segments["chatter"] == (1, 2)
    assert [hyps[1][s:e] for s, e in found.chatter_spans[1]] == ["以下是翻译："]


def test_llm_chatty_fixture_is_flagged_for_its_chatter_and_stray_chinese() -> None:
    suite = load_suite(FIXTURES / "suite.toml")
    spec = next(t for t in suite.testsets if t.name == "zh-en")
    res = suite.evaluate([spec.load()], stats=NO_STATS).testsets[0]
    chatty = res.system("llm-chatty").diagnostics
    # preambles on lines 1, 5, 10, a note on line 3, a closing on line 12
    assert chatty["chatter"]["segments"] == [0, 2, 4, 9, 11]
    # 智谱 (line 4), 存取 in a note (line 3), 唐杰 (line 10): Chinese left in English output
    assert chatty["off_target"]["segments"] == [2, 3, 9]
    strong = res.system("strong").diagnostics
    assert strong["chatter"]["count"] == strong["off_target"]["count"] == 0


def test_results_json_round_trips_diagnostics_and_their_thresholds(
    results: evalkit.Results,
) -> None:
    doc = json.loads(results.to_json())
    assert doc["schema"] == 3
    assert doc["testsets"][0]["diagnostics_config"] == DiagnosticsConfig().as_dict()
    back = evalkit.Results.from_json(results.to_json())
    assert back.to_json() == results.to_json()


def test_a_schema_2_file_is_read_with_diagnostics_not_computed(results: evalkit.Results) -> None:
    doc = json.loads(results.to_json())
    doc["schema"] = 2
    for ts in doc["testsets"]:
        del ts["diagnostics_config"]
        for sr in ts["systems"]:
            del sr["diagnostics"]
    back = evalkit.Results.from_json(json.dumps(doc))
    assert back.testsets[0].diagnostics_config is None
    assert back.testsets[0].system("flawed").diagnostics is None
    render_report(back)  # the report renders without the diagnostics section


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda d: d["empty"]["segments"].append(99), "segments[1]: segment 99 is outside"),
        (lambda d: d.update(loops=d["empty"]), "loops: unknown diagnostic"),
        (lambda d: d["empty"].update(count=5), "empty.count: 5 for 1 segments"),
        (lambda d: d["chatter"]["spans"].pop(), "chatter.spans: 2 span lists for 3"),
        (lambda d: d["empty"].update(rate=2), "empty.rate: 2 is not a rate"),
    ],
    ids=["index-out-of-range", "unknown-kind", "count-mismatch", "spans-short", "bad-rate"],
)
def test_damaged_diagnostics_are_an_input_error_naming_the_key(
    results: evalkit.Results, mutate, words: str
) -> None:
    doc = json.loads(results.to_json())
    mutate(doc["testsets"][0]["systems"][1]["diagnostics"])
    with pytest.raises(InputError, match=re.escape(words)):
        evalkit.Results.from_json(json.dumps(doc), path="r.json")


def test_terminal_prints_one_warning_line_per_flagged_system(results: evalkit.Results) -> None:
    text = render_table(results)
    lines = [ln for ln in text.splitlines() if ln.startswith("! zh-en/")]
    assert (
        "! zh-en/flawed: empty 1/10, off_target 2/10, untranslated 1/10, chatter 3/10, "
        "repetition 1/10, too_long 1/10, too_short 1/10" in lines
    )
    assert not any(ln.startswith("! zh-en/good:") for ln in lines)


def test_report_shows_rates_marked_spans_and_a_flag_filter(results: evalkit.Results) -> None:
    doc = lxml.html.fromstring(render_report(results))
    table = doc.xpath("//table[contains(@class,'diagnostics')]")[0]
    heads = [th.text_content().strip() for th in table.xpath("thead/tr/th")]
    assert heads == ["System", *KINDS]
    row = table.xpath("tbody/tr[th='flawed']")[0]
    assert [td.text_content() for td in row.xpath("td")] == [
        "10.0%", "20.0%", "10.0%", "30.0%", "10.0%", "10.0%", "10.0%"
    ]  # fmt: skip
    marks = doc.xpath("//table[@class='flagged-outputs']//mark[@class='flag']/text()")
    assert "Here is the translation: " in marks
    options = doc.xpath("//select[@class='ex-flag']/option/@value")
    assert options == ["", *KINDS]


def test_suite_diagnostics_table_sets_the_thresholds(tmp_path: Path) -> None:
    text = (FIXTURES / "suite.toml").read_text(encoding="utf-8")
    text = text.replace('normalize = "auto"', 'normalize = "auto"\n[diagnostics]\nlength_k = 2.5')
    suite_path = tmp_path / "suite.toml"
    suite_path.write_text(text.replace('"article.', f'"{FIXTURES}/article.'), encoding="utf-8")
    (tmp_path / "zh-en").symlink_to(FIXTURES / "zh-en")
    (tmp_path / "en-zh").symlink_to(FIXTURES / "en-zh")
    suite = load_suite(suite_path)
    assert suite.diagnostics == DiagnosticsConfig(length_k=2.5)
    res = suite.evaluate([suite.testsets[0].load()], stats=NO_STATS)
    assert res.testsets[0].diagnostics_config["length_k"] == 2.5


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ("loops = 3", "unknown key 'loops' in [diagnostics]"),
        ("length_k = -1", "length_k must be > 0"),
        ('max_stray_han = "2"', "max_stray_han must be an integer"),
        ("min_han_share = 1.5", "min_han_share must be in (0, 1]"),
    ],
)
def test_a_bad_diagnostics_table_is_a_config_error_with_its_line(
    tmp_path: Path, table: str, words: str
) -> None:
    path = tmp_path / "suite.toml"
    path.write_text(
        f'[[testsets]]\nname = "t"\nrefs = ["{FIXTURES}/article.en"]\n'
        f'[testsets.systems]\na = "{FIXTURES}/zh-en/strong.en"\n\n[diagnostics]\n{table}\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=re.escape(words)) as info:
        load_suite(path)
    assert info.value.line == 7  # the [diagnostics] header


def test_a_streamed_test_set_says_diagnostics_were_not_computed() -> None:
    got = score_files(
        [FIXTURES / "article.en"],
        {"strong": FIXTURES / "zh-en/strong.en", "chatty": FIXTURES / "zh-en/llm-chatty.en"},
        metrics="bleu",
        stats=NO_STATS,
        chunk_size=5,
    )
    ts = got.testsets[0]
    assert ts.diagnostics_config == {"computed": False, "reason": "not computed when streamed"}
    assert all(s.diagnostics is None for s in ts.systems)
    evalkit.Results.from_json(got.to_json())  # and the file is still valid


def test_gate_diagnostic_rule_fails_a_chatty_candidate_and_names_unknown_kinds(
    tmp_path: Path, run_evalkit
) -> None:
    rules = '[[gate.rules]]\nname = "no-chatter"\ndiagnostic = "chatter"\nmax_rate = 0.01\n'
    suite = (
        '[suite]\nname = "g"\nmetrics = ["bleu"]\n[[testsets]]\nname = "zh-en"\nlang = "en"\n'
        f'source = "{FIXTURES}/article.zh"\nrefs = ["{FIXTURES}/article.en"]\n'
        'baseline = "strong"\n[testsets.systems]\n'
        f'strong = "{FIXTURES}/zh-en/strong.en"\n"llm-chatty" = "{FIXTURES}/zh-en/llm-chatty.en"\n'
        '[gate]\nbaseline = "baseline.json"\n'
    )
    (tmp_path / "suite.toml").write_text(suite + rules, encoding="utf-8")
    made = run_evalkit("baseline", "suite.toml", "--write", "baseline.json", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    gate = run_evalkit("gate", "suite.toml", cwd=tmp_path)
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "chatter in 41.67% of segments > max_rate 1%" in gate.stdout
    (tmp_path / "suite.toml").write_text(
        suite + rules.replace('"chatter"', '"chat"'), encoding="utf-8"
    )
    bad = run_evalkit("gate", "suite.toml", cwd=tmp_path)
    assert bad.returncode == 2
    assert "unknown diagnostic 'chat'; valid kinds: " + ", ".join(KINDS) in bad.stderr
