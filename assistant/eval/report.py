"""Render an eval summary: report.md tables, report.png chart (Agg) and --compare deltas."""

from __future__ import annotations

import io
from typing import Any

# (label, path inside a metric block, format): "n" count, "r" rate, "ms" milliseconds
ROWS: list[tuple[str, str, str]] = [
    ("questions", "n", "n"),
    ("retrieval: questions with answers", "retrieval.answer_recall_n", "n"),
    ("retrieval: answer text in top 5", "retrieval.answer_recall@5", "r"),
    ("retrieval: answer text in top k", "retrieval.answer_recall@k", "r"),
    ("retrieval: questions with gold articles", "retrieval.n", "n"),
    ("retrieval: hit@1", "retrieval.hit@1", "r"),
    ("retrieval: hit@5", "retrieval.hit@5", "r"),
    ("retrieval: hit@k", "retrieval.hit@k", "r"),
    ("retrieval: MRR", "retrieval.mrr", "r"),
    ("evidence: questions with facts", "retrieval.evidence_n", "n"),
    ("evidence: hit@k", "retrieval.evidence_hit@k", "r"),
    ("answer: answerable questions", "answer.n", "n"),
    ("answer: exact match", "answer.em", "r"),
    ("answer: token F1", "answer.f1", "r"),
    ("answer: contains", "answer.contains", "r"),
    ("multiple choice: questions", "mc.n", "n"),
    ("multiple choice: accuracy", "mc.accuracy", "r"),
    ("refusal: unanswerable / refused", "refusal.unanswerable|refusal.refused", "n"),
    ("refusal: precision", "refusal.precision", "r"),
    ("refusal: recall", "refusal.recall", "r"),
    ("citations: answers", "citations.n", "n"),
    ("citations: all valid", "citations.all_valid", "r"),
    ("citations: cite a gold article", "citations.cites_gold", "r"),
    ("LLM: answers / verified / partly / unverified", "llm.n|llm.verified|llm.partly|llm.unverified", "n"),
    ("LLM: answers with usage / unknown", "llm.usage_reported|llm.usage_unknown", "n"),
    ("LLM tokens: prompt / completion (reported)", "llm.prompt_tokens|llm.completion_tokens", "n"),
    ("latency: p50 (ms)", "latency_ms.p50", "ms"),
    ("latency: p95 (ms)", "latency_ms.p95", "ms"),
    ("latency: total (s)", "latency_ms.total", "s"),
]
CHART: list[tuple[str, str]] = [
    ("hit@5", "retrieval.hit@5"),
    ("evidence hit@k", "retrieval.evidence_hit@k"),
    ("EM", "answer.em"),
    ("F1", "answer.f1"),
    ("contains", "answer.contains"),
    ("MC accuracy", "mc.accuracy"),
    ("refusal recall", "refusal.recall"),
    ("citations valid", "citations.all_valid"),
]
_COUNT_KEYS = {"n", "k", "evidence_n", "answer_recall_n", "n_gold", "unanswerable", "refused", "llm"}


def _get(block: dict[str, Any], path: str) -> Any:
    value: Any = block
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "n":
        return str(value)
    if kind == "ms":
        return f"{value:.0f}"
    if kind == "s":
        return f"{value / 1000:.1f}"
    return f"{value:.3f}"


def _columns(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    overall = {"n": summary.get("n"), **summary.get("metrics", {})}
    return [("all", overall), *summary.get("by_type", {}).items()]


def render_markdown(summary: dict[str, Any]) -> str:
    """report.md: one table of every metric (overall and per question type), then the config."""
    cols = _columns(summary)
    k = _get(summary, "metrics.retrieval.k")
    lines = [
        "# Evaluation report",
        "",
        f"{summary.get('n', 0)} questions, {summary.get('errors', 0)} failed, top-k = {k}. "
        "Rates are fractions (1.000 = all); – means no question of that kind.",
        "",
        "| metric | " + " | ".join(name for name, _ in cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for label, path, kind in ROWS:
        cells = [
            " / ".join(_fmt(_get(block, p), kind) for p in path.split("|")) for _, block in cols
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "## Configuration", "", "| setting | value |", "|---|---|"]
    for key, value in summary.get("config", {}).items():
        lines.append(f"| {key} | {str(value).replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def render_png(summary: dict[str, Any]) -> bytes:
    """report.png: the main metrics as grouped bars, one colour per question type (plus all)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = _columns(summary)
    fig = Figure(figsize=(11, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / len(cols)
    for i, (name, block) in enumerate(cols):
        values = [_get(block, path) for _, path in CHART]
        heights = [float(v) if v is not None else 0.0 for v in values]
        xs = [x + (i - (len(cols) - 1) / 2) * width for x in range(len(CHART))]
        ax.bar(xs, heights, width, label=f"{name} (n={block.get('n')})")
        for x, value in zip(xs, values, strict=True):
            if value is None:  # no question of this kind: mark it, unlike a real zero
                ax.text(x, 0.01, "n/a", ha="center", va="bottom", rotation=90, fontsize=7)
    ax.set_xticks(range(len(CHART)), [label for label, _ in CHART], fontsize=9)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (fraction)")
    ax.set_title(f"Evaluation: {summary.get('n', 0)} questions, main metrics by question type")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _leaves(node: Any, prefix: str) -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in _COUNT_KEYS:
                out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(node, int | float) and not isinstance(node, bool):
        out[prefix] = float(node)
    return out


def compare_summaries(
    current: dict[str, Any], other: dict[str, Any]
) -> list[tuple[str, float, float, float]]:
    """(metric path, other, current, current - other) for every rate/latency both summaries have."""
    mine = _leaves({"metrics": current.get("metrics"), "by_type": current.get("by_type")}, "")
    theirs = _leaves({"metrics": other.get("metrics"), "by_type": other.get("by_type")}, "")
    return [
        (path, theirs[path], value, round(value - theirs[path], 6))
        for path, value in mine.items()
        if path in theirs
    ]


def format_comparison(rows: list[tuple[str, float, float, float]]) -> str:
    """A plain-text table of compare_summaries rows (latency in ms, rates as fractions)."""
    if not rows:
        return "No metric is present in both summaries."
    width = max(len("metric"), *(len(r[0]) for r in rows))
    lines = [f"{'metric':<{width}}  {'other':>9}  {'current':>9}  {'delta':>9}"]
    for path, old, new, delta in rows:
        digits = 1 if ".latency_ms." in f".{path}" else 3
        lines.append(
            f"{path:<{width}}  {old:>9.{digits}f}  {new:>9.{digits}f}  {delta:>+9.{digits}f}"
        )
    return "\n".join(lines)
