"""The parse cache: round trips, per-parser keys, no text parsed twice, no spaCy when all is cached,
and a damaged file that says so."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.answer.offline import nlp
from assistant.answer.offline.nlp import MODEL_PACKAGE, PARSE_CACHE, SentenceParser, parser_key
from assistant.answer.offline.parse_cache import ParseCache, text_hash
from assistant.answer.offline.parsed import ParsedDoc
from assistant.cli.main import cli
from assistant.config import PROJECT_ROOT
from assistant.errors import StoreError

TEXTS = ["Acme Motors recalled 1.2 million trucks on Monday.", "Mrs. Jill Biden visited Ohio."]


@pytest.fixture(scope="module")
def docs() -> list[ParsedDoc]:
    parser = SentenceParser(MODEL_PACKAGE)
    return parser(TEXTS)


def test_put_get_round_trip_per_parser(tmp_path: Path, docs: list[ParsedDoc]) -> None:
    cache = ParseCache(tmp_path / "p.sqlite3")
    assert cache.put_many("p1", docs) == 2 and cache.put_many("p1", []) == 0
    got = cache.get_many("p1", [*TEXTS, "never parsed"])
    assert set(got) == set(TEXTS)
    assert [got[t].to_json() for t in TEXTS] == [d.to_json() for d in docs]
    assert cache.get_many("p2", TEXTS) == {}  # another parser's (or version's) parses are never mixed in
    assert cache.count("p1") == 2 and cache.count() == 2
    mode = cache._db.execute("PRAGMA journal_mode").fetchone()[0]
    cache.close()
    assert mode == "wal"  # several eval workers share one store
    again = ParseCache(tmp_path / "p.sqlite3")  # persists across opens
    assert set(again.get_many("p1", TEXTS)) == set(TEXTS)
    again.close()


def test_a_damaged_row_is_a_miss_and_is_replaced(tmp_path: Path, docs: list[ParsedDoc]) -> None:
    cache = ParseCache(tmp_path / "p.sqlite3")
    cache.put_many("p1", docs)
    with sqlite3.connect(tmp_path / "p.sqlite3") as db:
        db.execute("UPDATE parses SET doc = '{\"f\": 1, \"t\": [[' WHERE hash = ?", [text_hash(TEXTS[0])])
    assert set(cache.get_many("p1", TEXTS)) == {TEXTS[1]}
    cache.put_many("p1", docs[:1])
    assert set(cache.get_many("p1", TEXTS)) == set(TEXTS)
    cache.close()


def test_the_key_names_the_model_spacy_and_their_versions() -> None:
    key = parser_key(MODEL_PACKAGE)
    assert key is not None and f"{MODEL_PACKAGE}==3." in key and "spacy==3." in key and "format=" in key
    assert parser_key("json") is None  # a module, not an installed distribution: nothing is cached


def test_a_second_parser_reads_the_file_and_never_loads_the_model(tmp_path: Path) -> None:
    path = tmp_path / "store" / PARSE_CACHE
    first = SentenceParser(MODEL_PACKAGE, cache_path=path)
    made = first([*TEXTS, TEXTS[0]])
    assert first.parsed == 2 and made[0] is made[2]
    assert first(TEXTS[:1])[0] is made[0] and first.parsed == 2  # the memo
    first.close()
    second = SentenceParser(MODEL_PACKAGE, cache_path=path)
    again = second(TEXTS)
    assert second.parsed == 0 and second._nlp is None
    assert [d.to_json() for d in again] == [d.to_json() for d in made[:2]]
    assert second([*TEXTS, "Ford is recalling vehicles."])[2].ents[0].label_ == "ORG"
    assert second.parsed == 1  # only the new text went to the pipeline
    second.close()


def test_warm_loads_the_pipeline_before_any_text_and_parses_nothing(tmp_path: Path) -> None:
    parser = SentenceParser(MODEL_PACKAGE, cache_path=tmp_path / PARSE_CACHE)
    assert parser._nlp is None
    assert parser.warm() and parser._nlp is not None and parser.parsed == 0
    assert parser(TEXTS[:1])[0].text == TEXTS[0] and parser.parsed == 1
    parser.close()
    assert SentenceParser("json").warm() is False  # json has no load(): no pipeline, no error


def test_a_background_warm_and_a_question_share_one_load(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    started, release = threading.Event(), threading.Event()
    real = nlp.load_pipeline

    def slow_load(package: str) -> object:
        loads.append(package)
        started.set()
        release.wait(30)
        return real(package)

    monkeypatch.setattr(nlp, "load_pipeline", slow_load)
    parser = SentenceParser(MODEL_PACKAGE, cache_path=tmp_path / PARSE_CACHE)
    warming = parser.warm_in_background()
    assert started.wait(30)
    asking = threading.Thread(target=lambda: parser(TEXTS[:1]))
    asking.start()  # needs the pipeline while the background load is still running
    release.set()
    warming.join(60)
    asking.join(60)
    assert loads == [MODEL_PACKAGE] and parser.parsed == 1 and not warming.is_alive()
    parser.close()


def test_a_broken_model_still_falls_back_when_a_text_is_missing(tmp_path: Path) -> None:
    broken = SentenceParser("json", cache_path=tmp_path / PARSE_CACHE)  # json has no load()
    for _ in range(2):
        with pytest.raises(nlp.ParserUnavailable):
            broken(TEXTS)
    assert not (tmp_path / PARSE_CACHE).exists()  # no version to key parses by: no file at all


_ASK = """
import json, sys
from assistant.app import build_app
from assistant.config import load_settings
from assistant.qa import AskOptions, ask

settings = load_settings({"store": sys.argv[1], "cache_dir": sys.argv[2], "no_llm": True}, environ={})
app = build_app(settings)
answer = ask(app, sys.argv[3], AskOptions(check_stale=False))
out = {"answer": answer.answer, "mode": answer.mode, "parsed": app.parser.parsed,
       "spacy": sorted(m for m in sys.modules if m == "spacy" or m.startswith(("spacy.", "thinc")))}
app.close()
print(json.dumps(out))
"""


def ask_in_a_process(store: Path, model_cache: Path, question: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _ASK, str(store), str(model_cache), question],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    out: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def test_a_cached_question_is_answered_without_importing_spacy(tmp_path: Path, model_cache: Path) -> None:
    store = tmp_path / "store"
    env = {"ASSISTANT_STORE": str(store), "ASSISTANT_CACHE_DIR": str(model_cache)}
    assert CliRunner().invoke(cli, ["ingest"], env=env, catch_exceptions=False).exit_code == 0
    question = "Who joined the SCO in 2024?"
    first = ask_in_a_process(store, model_cache, question)
    assert first["parsed"] and first["spacy"] and str(first["answer"]).startswith("Belarus.")
    second = ask_in_a_process(store, model_cache, question)
    assert second["spacy"] == [] and second["parsed"] == 0
    assert (second["answer"], second["mode"]) == (first["answer"], first["mode"])


@pytest.mark.parametrize("damage", ["garbage", "folder"])
def test_a_damaged_or_unopenable_file_is_a_clear_error(tmp_path: Path, model_cache: Path,
                                                       damage: str) -> None:
    store = tmp_path / "store"
    env = {"ASSISTANT_STORE": str(store), "ASSISTANT_CACHE_DIR": str(model_cache)}
    assert CliRunner().invoke(cli, ["ingest"], env=env, catch_exceptions=False).exit_code == 0
    if damage == "garbage":
        (store / PARSE_CACHE).write_bytes(b"not a database at all " * 200)
    else:
        (store / PARSE_CACHE).mkdir()
    with pytest.raises(StoreError, match="parse cache .*delete the file"):
        SentenceParser(MODEL_PACKAGE, cache_path=store / PARSE_CACHE)(TEXTS)
    result = CliRunner().invoke(cli, ["ask", "Who joined the SCO in 2024?"], env=env, catch_exceptions=False)
    assert result.exit_code != 0
    assert PARSE_CACHE in result.stderr and "delete the file" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
