"""Eval reports (eval/report.py): the markdown table, the chart and the --compare deltas."""

from __future__ import annotations

from typing import Any

from assistant.eval.report import compare_summaries, format_comparison, render_markdown, render_png


def _summary(mc: float | None, p50: float) -> dict[str, Any]:
    block = {"n": 4, "mc": {"n": 4, "accuracy": mc}, "latency_ms": {"p50": p50},
             "retrieval": {"k": 5}}
    return {"n": 4, "errors": 1, "metrics": block, "by_type": {"quiz": dict(block, n=2)},
            "config": {"store": "a|b", "top_k": 5}}


def test_markdown_has_one_column_per_type_and_marks_missing_values() -> None:
    text = render_markdown(_summary(None, 1500.0))
    assert "| metric | all | quiz |" in text
    assert "| multiple choice: accuracy | – | – |" in text
    assert "| latency: p50 (ms) | 1500 | 1500 |" in text
    assert "| store | a/b |" in text  # a table cell never breaks the table
    assert "4 questions, 1 failed, top-k = 5" in text


def test_the_chart_is_a_png() -> None:
    assert render_png(_summary(0.5, 10.0)).startswith(b"\x89PNG\r\n\x1a\n")


def test_compare_gives_deltas_for_shared_metrics_only() -> None:
    rows = compare_summaries(_summary(0.75, 100.0), _summary(0.5, 150.0))
    deltas = {path: delta for path, _, _, delta in rows}
    assert deltas["metrics.mc.accuracy"] == 0.25 and deltas["metrics.latency_ms.p50"] == -50.0
    assert "metrics.mc.n" not in deltas  # counts are not metrics
    assert "metrics.mc.accuracy" in format_comparison(rows)
    assert format_comparison([]) == "No metric is present in both summaries."
