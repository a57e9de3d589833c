"""Gate report → JUnit XML, so CI systems list each check as a test and each regression as a
failure. Built with :mod:`xml.etree.ElementTree`, which escapes every name and message.

One ``<testsuite>`` per test set; one ``<testcase>`` per rule × system × metric, named
``rule: system metric``; a failed check carries ``<failure type="regression">`` with the numbers.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..render._cells import DECIMALS
from .report import GateReport
from .verdict import Verdict, printed_p

__all__ = ["render_junit"]


def _numbers(v: Verdict) -> str:
    return (
        f"{v.testset} {v.system} {v.label}: baseline {v.baseline:.{DECIMALS}f}, "
        f"candidate {v.candidate:.{DECIMALS}f}, delta {v.delta:+.{DECIMALS}f}, "
        f"p {printed_p(v.p_value)}; "
        f"rule {v.rule.name}: {v.rule.describe()}"
    )


def render_junit(report: GateReport) -> str:
    """The report as a JUnit XML document (UTF-8 declaration, indented)."""
    root = ET.Element(
        "testsuites",
        name="evalkit gate",
        tests=str(len(report.verdicts)),
        failures=str(len(report.failures)),
        errors="0",
    )
    order = list(dict.fromkeys(v.testset for v in report.verdicts))
    for testset in order:
        cases = [v for v in report.verdicts if v.testset == testset]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"evalkit gate: {testset}",
            tests=str(len(cases)),
            failures=str(sum(not v.passed for v in cases)),
            errors="0",
            skipped="0",
        )
        props = ET.SubElement(suite, "properties")
        for key, value in (
            ("suite", report.suite),
            ("baseline", report.baseline_path or ""),
            ("released", report.released.get(testset, "")),
            ("test", report.method),
            ("decimals", str(DECIMALS)),
        ):
            ET.SubElement(props, "property", name=key, value=value)
        for v in cases:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"evalkit.gate.{testset}",
                name=f"{v.rule.name}: {v.system} {v.metric}",
                time="0",
            )
            if v.passed:
                ET.SubElement(case, "system-out").text = f"{_numbers(v)} — {v.reason}"
            else:
                failure = ET.SubElement(case, "failure", message=v.reason, type="regression")
                failure.text = _numbers(v)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
