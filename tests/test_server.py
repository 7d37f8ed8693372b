"""The same behaviour against a real `chroma run` server on 127.0.0.1 (--chroma-url)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from chroma_server import chroma_server  # noqa: F401  (the `chroma_server` fixture)
from test_concurrency import (  # noqa: F401  (collected here again, against the server)
    test_queries_during_an_ingest_never_fail,
    test_two_ingests_started_together_equal_one,
)
from test_crash import test_kill_during_the_final_phases  # noqa: F401
from test_sync import (  # noqa: F401  (collected here again, against the server)
    assert_consistent,
    ingest,
    test_deleted_articles_are_gone_after_sync_and_never_cited,
    test_metadata_edit_reaches_the_store,
    test_one_article_id_in_two_files_never_doubles_up,
    test_reingest_is_free_and_an_edit_changes_only_its_chunks,
    tiny_corpus,
)

from assistant.app import App
from assistant.errors import StoreError
from assistant.index.doctor import check_store, repair_store
from assistant.qa import AskOptions, ask


@pytest.fixture()
def backend(chroma_server: str) -> dict[str, Any]:  # noqa: F811
    """A fresh collection on the session's server for each test."""
    return {"chroma_url": chroma_server, "collection": f"t-{uuid.uuid4().hex[:12]}"}


def test_a_fresh_state_folder_cannot_silently_share_a_collection(
    make_app: Callable[..., App], backend: dict[str, Any], tmp_path: Path
) -> None:
    folder = tiny_corpus(tmp_path / "docs", 5)
    owner = make_app(**backend)
    ingest(owner, folder)
    docs = assert_consistent(owner)
    assert owner.store.where == backend["chroma_url"]
    assert not any(p.name.startswith("chroma.sqlite3") for p in owner.state_dir.iterdir())

    stranger = make_app(**backend, store=str(tmp_path / "other-state"))
    with pytest.raises(StoreError, match="another state folder"):
        ask(stranger, "What did the council approve?", AskOptions())
    with pytest.raises(StoreError, match="another state folder"):
        ingest(stranger, folder)
    report = check_store(stranger.index_parts())
    assert not report.opened and "another state folder" in report.error
    with pytest.raises(StoreError, match="Nothing to rebuild"):
        repair_store(stranger.index_parts())
    assert assert_consistent(owner) == docs  # the owner's collection was left alone

    again = make_app(**backend)  # the owner's folder still works, from a new process
    assert again.store.count() == len(docs)
    assert check_store(again.index_parts()).ok


def test_the_auth_token_is_sent_and_never_shown(make_app: Callable[..., App]) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[dict[str, str]] = []

    class Refuse(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (http.server's name)
            seen.append(dict(self.headers))
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": "Unauthorized", "message": "bad token"}')

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for header, expected in (("Authorization", "Bearer s3cret-token"),
                                 ("X-Chroma-Token", "s3cret-token")):
            app = make_app(chroma_url=f"http://127.0.0.1:{server.server_port}",
                           chroma_auth_token="s3cret-token", chroma_auth_header=header)
            with pytest.raises(StoreError) as info:
                app.store.count()
            assert "s3cret" not in str(info.value) and "ASSISTANT_CHROMA_AUTH_TOKEN" in str(info.value)
            assert seen and seen[-1].get(header) == expected
    finally:
        server.shutdown()
