"""A real `chroma run` server on 127.0.0.1 for the session (the `chroma_server` fixture: its URL)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _chroma_cli() -> str:
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        raise RuntimeError(f"`chroma` is not installed next to {sys.executable}")
    return str(exe)


def wait_for_heartbeat(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import chromadb
    from chromadb.config import Settings

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"chroma run exited with {proc.returncode}")
        try:
            chromadb.HttpClient(host="127.0.0.1", port=port,
                                settings=Settings(anonymized_telemetry=False)).heartbeat()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def start_server(path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start `chroma run --path PATH` on a free loopback port; returns (process, URL)."""
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [_chroma_cli(), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    try:
        wait_for_heartbeat(port, proc)
    except BaseException:
        stop_server(proc)
        raise
    return proc, f"http://127.0.0.1:{port}"


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a `chroma run` server that lives for the whole test session."""
    proc, url = start_server(tmp_path_factory.mktemp("chroma-server"))
    yield url
    stop_server(proc)
