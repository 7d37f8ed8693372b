"""Tests of the scripted eval: a hand-scored 10-question file, outputs, resume after kill -9."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import shared_file

from assistant.errors import EvalError, LLMError
from assistant.eval.evaluate import (
    EvalQuestion,
    compare_summaries,
    format_comparison,
    load_questions,
    run_eval,
)
from assistant.eval.io import answer_from_json, load_summary
from assistant.models import NOT_FOUND, Answer, Citation, Passage

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
TOP_K = 8
CONFIG = {"embedder": "fake", "llm": "offline", "as_of": "question date"}

# fmt: off
QUESTIONS: list[dict[str, Any]] = [
    {"id": "a1", "question": "Which automaker recalled 1.4 million trucks?", "answer": "Ford",
     "aliases": ["Ford Motor"], "gold_doc_ids": ["art-ford"], "question_type": "news",
     "evidence": [{"fact": "Ford recalled 2.9 million vehicles this week."}],
     "question_date": "2022/06/17"},
    {"id": "a2", "question": "Who signed the bill?", "answer": "Joe Biden", "kind": "news",
     "gold_doc_ids": ["art-biden"], "evidence": ["President Biden signed the bill on Tuesday."]},
    {"id": "a3", "question": "Who retired from the Storm?", "answer": "Sue Bird",
     "gold_doc_ids": ["art-bird"], "question_type": "sports"},
    {"id": "u1", "question": "Who won the 2031 marathon?", "answer": "", "question_type": "sports"},
    {"id": "u2", "question": "Where will the 2040 games be?", "answer": "", "kind": "news"},
    {"id": "m1", "question": "Which park flooded?", "choices": ["Yosemite", "Yellowstone", "Zion"],
     "answer_index": [1], "gold_doc_ids": ["art-ys"], "question_type": "quiz",
     "evidence": [{"fact": "Flooding shut down Yellowstone National Park this week. "
                           "Roads and bridges were washed out."}]},
    {"id": "m2", "question": "When did Internet Explorer debut?", "answer": "2002",
     "choices": ["1991", "1995", "2002"], "answer_index": 2, "question_type": "quiz"},
    {"id": "m3", "question": "Which colour won?", "answer": "red", "choices": ["red", "blue"],
     "answer_index": 0, "question_type": "quiz"},
    {"id": "f1", "question": "Who won the 2022 World Cup?", "answer": "Argentina",
     "gold_doc_ids": ["art-wc"], "question_type": "chat", "as_of": "2022-12-20T09:00:00Z",
     "evidence": [{"fact": "Argentina won the 2022 World Cup final in Qatar."}]},
    {"id": "f2", "question": "Who was their captain?", "answer": "Lionel Messi",
     "aliases": ["Messi"], "gold_doc_ids": ["art-wc"], "question_type": "chat", "previous": "f1"},
]
# fmt: on


def write_questions(folder: Path) -> Path:
    """The 10-question JSONL file (answerable, unanswerable, multiple choice, a follow-up pair)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "questions.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return path


def _p(n: int, article_id: str, text: str) -> Passage:
    return Passage(
        n=n,
        chunk_id=f"{article_id}#{n}",
        article_id=article_id,
        title=f"T {article_id}",
        source="cnn.com",
        url=None,
        path=f"{article_id}.txt",
        published_at="2022-06-15",
        text=text,
        score=1.0 - n / 10,
    )


def _c(n: int, article_id: str, quote: str) -> Citation:
    return Citation(
        n=n,
        article_id=article_id,
        title=f"T {article_id}",
        source="cnn.com",
        published_at="2022-06-15",
        url=None,
        path=f"{article_id}.txt",
        quote=quote,
    )


# id -> (mode, text, passages, citations, choice_index)
# fmt: off
SCRIPT: dict[str, tuple[str, str, list[Passage], list[Citation], int | None]] = {
    "a1": ("extractive", "Ford [1] recalled 2.9 million vehicles.",
           [_p(1, "art-ford", "Ford recalled 2.9 million vehicles this week, the company said."),
            _p(2, "art-x", "Honda sold cars.")],
           [_c(1, "art-ford", "Ford recalled 2.9 million vehicles")], None),
    "a2": ("llm", "President Joe Biden signed it. He did so on Tuesday [2].",
           [_p(1, "art-x", "Nothing here."),
            _p(2, "art-biden", "On Tuesday President Biden signed the bill into law.")],
           [_c(2, "art-biden", "President Biden signed the bill")], None),
    "a3": ("extractive", "Diana Taurasi [1]",
           [_p(1, "art-x", "Diana Taurasi scored 20 points."),
            *[_p(n, f"art-g{n}", "filler") for n in range(2, 9)],
            _p(9, "art-bird", "Sue Bird played for the Storm.")],
           [_c(1, "art-x", "Diana Taurasi scored 30 points")], None),
    "u1": ("none", NOT_FOUND, [_p(1, "art-x", "Unrelated text.")], [], None),
    "u2": ("extractive", "It was Paris [1].", [_p(1, "art-p", "Paris is the capital of France.")],
           [_c(1, "art-p", "Paris is the capital")], None),
    "m1": ("extractive", "Yellowstone [3]",
           [_p(1, "art-x", "a"), _p(2, "art-y", "b"),
            _p(3, "art-ys", "Roads and bridges were washed out near the park.")],
           [_c(3, "art-ys", "Roads and bridges were washed out")], 1),
    "m2": ("extractive", "1995 [1]", [_p(1, "art-ie", "Internet Explorer debuted in 1995.")],
           [_c(1, "art-ie", "debuted in 1995")], 1),
    "m3": ("none", NOT_FOUND, [_p(1, "art-x", "Colours.")], [], None),
    "f1": ("llm", "Argentina won [1].",
           [_p(1, "art-wc", "Argentina won the World Cup final in Qatar.")],
           [_c(1, "art-wc", "Argentina won the World Cup")], None),
    "f2": ("llm", "Messi captained the team [1][7].",
           [_p(1, "art-x", "Messi captained the team to victory."),
            *[_p(n, f"art-f{n}", "filler") for n in range(2, 6)],
            _p(6, "art-wc", "The final went to penalties.")],
           [_c(1, "art-x", "Messi captained the team"), _c(7, "art-wc", "Messi lifted the trophy")],
           None),
}
# fmt: on


class FakeAsk:
    """Scripted answerer: returns the hand-made answers and checks follow-up history."""

    def __init__(self, delay: float = 0.0, fail: set[str] | None = None, stop_at: str = "") -> None:
        self.delay, self.fail, self.stop_at = delay, fail or set(), stop_at
        self.calls: list[str] = []

    def __call__(self, q: EvalQuestion, history: list[tuple[str, Answer]]) -> Answer:
        if q.id == self.stop_at:
            raise KeyboardInterrupt
        self.calls.append(q.id)
        time.sleep(self.delay)
        if q.id in self.fail:
            raise LLMError("LLM server timed out: check OPENAI_BASE_URL")
        expected = [("Who won the 2022 World Cup?", "Argentina won [1].")] if q.id == "f2" else []
        if [(text, ans.answer) for text, ans in history] != expected:
            raise AssertionError(f"history of {q.id}: {history!r}")
        mode, text, passages, cites, choice = SCRIPT[q.id]
        return Answer(
            question=q.question,
            answer=text,
            mode=mode,
            citations=list(cites),
            passages=list(passages),
            choice_index=choice,
            as_of=q.as_of,
            timings_ms={"total": 1.0},
        )


def _eval(tmp_path: Path, name: str = "out", **kw: Any) -> tuple[dict[str, Any], Path, FakeAsk]:
    questions, warnings = load_questions(write_questions(tmp_path / "q"))
    assert warnings == []
    fake = kw.pop("fake", None) or FakeAsk()
    out = tmp_path / name
    summary = run_eval(questions, fake, out, config=CONFIG, top_k=TOP_K, **kw)
    return summary, out, fake


def _untimed(summary: dict[str, Any]) -> dict[str, Any]:
    copy = json.loads(json.dumps(summary))
    for block in [copy["metrics"], *copy["by_type"].values()]:
        del block["latency_ms"]
    return copy


def test_ten_questions_give_the_hand_computed_metrics(tmp_path: Path) -> None:
    summary, out, _ = _eval(tmp_path)
    assert sorted(p.name for p in out.iterdir()) == [
        "report.md",
        "report.png",
        "results.jsonl",
        "summary.json",
    ]
    assert json.loads((out / "summary.json").read_text()) == summary
    assert set(summary) == {"n", "errors", "metrics", "by_type", "config"}
    assert summary["n"] == 10 and summary["errors"] == 0
    m = summary["metrics"]
    assert set(m) == {"retrieval", "answer", "mc", "refusal", "citations", "latency_ms"}
    # gold ranks a1 1, a2 2, a3 none (its gold passage is 9th > top-k 8), m1 3, f1 1, f2 6
    # answer text in the top 8: a1 (Ford, 1st), f1 (Argentina, 1st), f2 (Messi, 1st); not a2 ("Joe
    # Biden" vs "President Biden"), a3 (9th), m1, m2, m3; u1 and u2 have no answer to look for
    assert m["retrieval"] == pytest.approx(
        {
            "k": 8,
            "answer_recall_n": 8,
            "answer_recall@5": 3 / 8,
            "answer_recall@k": 3 / 8,
            "n": 6,
            "hit@1": 2 / 6,
            "hit@5": 4 / 6,
            "hit@k": 5 / 6,
            "mrr": (1 + 1 / 2 + 0 + 1 / 3 + 1 + 1 / 6) / 6,
            # facts found: a1 verbatim, m1's 2nd sentence, f1 with one word missing; a2 reordered
            "evidence_n": 4,
            "evidence_hit@k": 3 / 4,
        },
        abs=1e-6,
    )
    # short answers: Ford | President Joe Biden signed it. | Diana Taurasi | Yellowstone | 1995 |
    # (refusal) | Argentina won | Messi captained the team
    f1s = [1, 4 / 7, 0, 1, 0, 0, 2 / 3, 1 / 2]
    assert m["answer"] == pytest.approx(
        {"n": 8, "em": 2 / 8, "f1": sum(f1s) / 8, "contains": 5 / 8}, abs=1e-6
    )
    assert m["mc"] == pytest.approx({"n": 3, "accuracy": 1 / 3, "picked": 2 / 3}, abs=1e-6)
    # refused: u1 (unanswerable) and m3 (answerable); unanswerable: u1, u2
    assert m["refusal"] == {
        "n": 10,
        "unanswerable": 2,
        "refused": 2,
        "precision": 0.5,
        "recall": 0.5,
    }
    # answered: a1 a2 a3 u2 m1 m2 f1 f2; invalid: a3 (quote), f2 ([7]); gold cited: a1 a2 m1 f1
    assert m["citations"] == pytest.approx(
        {"n": 8, "all_valid": 6 / 8, "n_gold": 6, "cites_gold": 4 / 6, "mean_count": 9 / 8},
        abs=1e-6,
    )
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    latencies = [r["latency_ms"] for r in records]
    assert set(m["latency_ms"]) == {"p50", "p95", "mean", "max", "total"}
    assert m["latency_ms"]["total"] == pytest.approx(sum(latencies), abs=0.2)
    assert m["latency_ms"]["p50"] <= m["latency_ms"]["p95"] <= m["latency_ms"]["max"]
    assert summary["config"] == {"top_k": 8, **CONFIG}


def test_breakdown_by_question_type(tmp_path: Path) -> None:
    by_type = _eval(tmp_path)[0]["by_type"]
    assert list(by_type) == ["chat", "news", "quiz", "sports"]
    assert [b["n"] for b in by_type.values()] == [2, 3, 3, 2]
    chat = by_type["chat"]
    assert chat["retrieval"] == pytest.approx(
        {
            "k": 8,
            "answer_recall_n": 2,
            "answer_recall@5": 1.0,
            "answer_recall@k": 1.0,
            "n": 2,
            "hit@1": 0.5,
            "hit@5": 0.5,
            "hit@k": 1.0,
            "mrr": (1 + 1 / 6) / 2,
            "evidence_n": 1,
            "evidence_hit@k": 1.0,
        },
        abs=1e-6,
    )
    assert chat["answer"] == pytest.approx(
        {"n": 2, "em": 0.0, "f1": (2 / 3 + 1 / 2) / 2, "contains": 1.0}, abs=1e-6
    )
    assert by_type["news"]["refusal"] == {
        "n": 3,
        "unanswerable": 1,
        "refused": 0,
        "precision": None,
        "recall": 0.0,
    }
    assert by_type["quiz"]["refusal"]["precision"] is None  # refusals, but nothing to refuse
    assert by_type["quiz"]["mc"]["accuracy"] == pytest.approx(1 / 3, abs=1e-6)
    assert by_type["sports"]["refusal"]["recall"] == 1.0
    assert by_type["news"]["citations"]["all_valid"] == 1.0


def test_results_hold_question_answer_and_scores(tmp_path: Path) -> None:
    _, out, fake = _eval(tmp_path)
    assert fake.calls == [q["id"] for q in QUESTIONS]
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == fake.calls
    a2 = records[1]
    assert a2["question"]["answer"] == "Joe Biden" and a2["error"] is None
    assert a2["answer"]["mode"] == "llm" and a2["answer"]["passages"][1]["n"] == 2
    assert a2["scores"]["answer"]["short_answer"] == "President Joe Biden signed it."
    assert a2["scores"]["retrieval"]["gold_rank"] == 2
    rebuilt = answer_from_json(records[9]["answer"])
    assert rebuilt.to_json() == records[9]["answer"]
    assert records[0]["question"]["as_of"] == "2022-06-17"
    assert records[8]["question"]["as_of"] == "2022-12-20"


def test_report_md_holds_the_tables_and_png_is_valid(tmp_path: Path) -> None:
    _, out, _ = _eval(tmp_path)
    md = (out / "report.md").read_text()
    assert "| metric | all | chat | news | quiz | sports |" in md
    assert "| answer: exact match | 0.250 | 0.000 | 0.500 | 0.333 | 0.000 |" in md
    assert "| refusal: unanswerable / refused | 2 / 2 | 0 / 0 | 1 / 0 | 0 / 1 | 1 / 1 |" in md
    assert "| embedder | fake |" in md
    png = (out / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 800 and height >= 400


def test_progress_is_reported_per_question(tmp_path: Path) -> None:
    seen: list[tuple[int, int, str]] = []
    _eval(tmp_path, on_progress=lambda done, total, q: seen.append((done, total, q.id)))
    assert seen == [(i + 1, 10, q["id"]) for i, q in enumerate(QUESTIONS)]


def test_resume_after_kill_9_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    write_questions(tmp_path / "q")
    script = tmp_path / "slow_eval.py"
    script.write_text(
        "import sys\nfrom pathlib import Path\n"
        f"sys.path[:0] = [{str(REPO)!r}, {str(TESTS)!r}]\n"
        "from test_evaluate import CONFIG, TOP_K, FakeAsk\n"
        "from assistant.eval.evaluate import load_questions, run_eval\n"
        "qs, _ = load_questions(Path(sys.argv[1]))\n"
        "run_eval(qs, FakeAsk(delay=0.25), Path(sys.argv[2]), config=CONFIG, top_k=TOP_K,\n"
        "         on_progress=lambda done, total, q: print(done, flush=True))\n"
    )
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "q/questions.jsonl"), str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    reported = 0
    while reported < 4:  # the child reports each question once its line is written
        line = proc.stdout.readline()
        assert line, "the eval subprocess ended early"
        reported = int(line)
    proc.kill()  # SIGKILL: no cleanup runs in the child
    proc.wait(timeout=10)
    proc.stdout.close()
    results = out / "results.jsonl"
    written = results.read_text().count("\n")
    # nothing reported done is lost; at most the question in progress (and maybe one more line)
    assert 4 <= written <= 5 and not (out / "summary.json").exists()

    questions, _ = load_questions(tmp_path / "q/questions.jsonl")
    fake = FakeAsk()
    resumed = run_eval(questions, fake, out, config=CONFIG, top_k=TOP_K, resume=True)
    assert fake.calls == [q["id"] for q in QUESTIONS][written:]
    full, _, _ = _eval(tmp_path, name="full")
    assert _untimed(resumed) == _untimed(full)
    assert results.read_text().count("\n") == 10


def test_resume_drops_a_truncated_line_and_rebuilds_follow_up_history(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        _eval(tmp_path, fake=FakeAsk(stop_at="f2"))
    results = tmp_path / "out/results.jsonl"
    assert results.read_text().count("\n") == 9
    with results.open("a") as fh:
        fh.write('{"id": "f2", "qtype": "ch')  # what kill -9 mid-write could leave
    warnings: list[str] = []
    fake = FakeAsk()  # raises if f2 does not get f1's stored answer as history
    summary, _, _ = _eval(tmp_path, fake=fake, resume=True, on_warning=warnings.append)
    assert fake.calls == ["f2"]
    assert len(warnings) == 1 and "incomplete line" in warnings[0]
    assert summary["n"] == 10
    assert _untimed(summary) == _untimed(_eval(tmp_path, name="full")[0])


def test_failed_questions_are_recorded_and_asked_again_on_resume(tmp_path: Path) -> None:
    summary, out, _ = _eval(tmp_path, fake=FakeAsk(fail={"a1"}))
    assert summary["errors"] == 1
    assert summary["metrics"]["retrieval"]["hit@1"] == pytest.approx(1 / 6, abs=1e-6)
    first = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    assert first["answer"] is None and "timed out" in first["error"]
    fake = FakeAsk()
    again, _, _ = _eval(tmp_path, fake=fake, resume=True)
    assert fake.calls == ["a1"] and again["errors"] == 0
    assert again["metrics"]["retrieval"]["hit@1"] == pytest.approx(2 / 6, abs=1e-6)


def test_existing_results_need_resume(tmp_path: Path) -> None:
    _eval(tmp_path)
    with pytest.raises(EvalError, match="--resume"):
        _eval(tmp_path)


def test_malformed_lines_are_reported_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "questions.jsonl"
    lines = [
        json.dumps({"id": "ok1", "question": "Fine?", "answer": "yes"}),
        '{"id": "bad", "question": ',
        json.dumps({"id": "noq", "answer": "x"}),
        json.dumps({"id": "mc", "question": "Q?", "choices": ["a", "b"], "answer_index": 5}),
        json.dumps({"id": "d", "question": "Q?", "question_date": "June 2022"}),
        json.dumps({"id": "ok1", "question": "Again?"}),
        "",
        json.dumps({"id": "f", "question": "And then?", "previous": "nope"}),
    ]
    path.write_text("\n".join(lines) + "\n")
    questions, warnings = load_questions(path)
    assert [q.id for q in questions] == ["ok1", "f"]
    assert questions[1].previous is None
    assert [w.split(":")[1] for w in warnings] == ["2", "3", "4", "5", "6", "8"]
    assert warnings[0].startswith("questions.jsonl:2: invalid JSON")
    assert "duplicate id" in warnings[4] and "previous" in warnings[5]
    assert "date 'June 2022' is not YYYY-MM-DD" in warnings[3]


def test_text_file_gives_answers_only(tmp_path: Path) -> None:
    path = tmp_path / "questions.txt"
    path.write_text("Which automaker recalled vehicles?\n\n# a comment\nWho signed the bill?\n")
    questions, warnings = load_questions(path)
    assert warnings == []
    assert [(q.id, q.question, q.answer) for q in questions] == [
        ("q1", "Which automaker recalled vehicles?", None),
        ("q4", "Who signed the bill?", None),
    ]

    def ask(q: EvalQuestion, history: list[tuple[str, Answer]]) -> Answer:
        return Answer(
            question=q.question,
            answer="Ford [1].",
            mode="extractive",
            passages=[_p(1, "art-ford", "Ford recalled cars.")],
            citations=[_c(1, "art-ford", "Ford recalled")],
        )

    summary = run_eval(questions, ask, tmp_path / "out", config={}, top_k=5)
    m = summary["metrics"]
    assert summary["n"] == 2 and summary["by_type"] == {}
    assert m["answer"] == {"n": 0, "em": None, "f1": None, "contains": None}
    assert m["refusal"]["n"] == 0 and m["citations"]["all_valid"] == 1.0
    assert (tmp_path / "out/report.png").stat().st_size > 0


def test_missing_or_empty_question_file_is_an_eval_error(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match="not found"):
        load_questions(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n{oops\n")
    with pytest.raises(EvalError, match="no questions .1 malformed"):
        load_questions(tmp_path / "empty.jsonl")


def test_realtimeqa_dev_loads_as_is() -> None:
    dev = shared_file("realtimeqa", "dev.jsonl")
    questions, warnings = load_questions(dev)
    rows = [json.loads(line) for line in dev.read_text().splitlines() if line.strip()]
    assert warnings == [] and len(questions) == len(rows) == 192
    assert [q.as_of for q in questions] == [r["question_date"][:10] for r in rows]
    assert all(
        q.choices and q.answer_index == r["answer_index"][0]
        for q, r in zip(questions, rows, strict=True)
    )
    assert all(
        q.answer == q.choices[q.answer_index]
        for q in questions
        if q.choices and q.answer_index is not None
    )
    assert sum(bool(q.gold_doc_ids) for q in questions) == 62
    assert {q.qtype for q in questions} == {"CNN", "THE WEEK", "USAtoday"}


def test_compare_summaries_gives_deltas(tmp_path: Path) -> None:
    current, out, _ = _eval(tmp_path)
    other = json.loads(json.dumps(current))
    other["metrics"]["answer"]["f1"] = 0.3
    other["by_type"]["quiz"]["mc"]["accuracy"] = 0.5
    del other["by_type"]["chat"]
    rows = {path: (old, new, delta) for path, old, new, delta in compare_summaries(current, other)}
    assert rows["metrics.answer.f1"] == pytest.approx((0.3, 0.467262, 0.167262), abs=1e-6)
    assert rows["by_type.quiz.mc.accuracy"] == pytest.approx((0.5, 1 / 3, 1 / 3 - 0.5), abs=1e-6)
    assert "metrics.answer.n" not in rows and not any(p.startswith("by_type.chat") for p in rows)
    assert rows["metrics.refusal.precision"] == (0.5, 0.5, 0.0)
    text = format_comparison(compare_summaries(current, other))
    line = next(x for x in text.splitlines() if x.startswith("metrics.answer.f1 "))
    assert line.split() == ["metrics.answer.f1", "0.300", "0.467", "+0.167"]
    assert load_summary(out / "summary.json") == current
    assert format_comparison([]) == "No metric is present in both summaries."
