"""The CLI layer's workers: progress bars, rendering and error-free output for each command."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from assistant.app import App
from assistant.cli.render import (
    char_cells,
    render_answer,
    render_passages,
    render_warnings,
    sanitize,
    strip_offsource_links,
)
from assistant.models import Answer

# `assistant ingest` / `sync` exit codes beyond 0 (2 = bad input or settings, 3 = store busy)
EXIT_SKIPPED = 4  # some files (or JSONL lines) were skipped; everything else was indexed
EXIT_NOTHING = 5  # files were found, but not one article could be indexed
INGEST_EXIT = {"complete": 0, "partial": EXIT_SKIPPED, "nothing": EXIT_NOTHING}

# the end of a streamed text that may still become a markdown link or image: held back
_OPEN_LINK = re.compile(r"!?\[[^\]\n]{0,200}(?:\](?:\([^)\n]{0,300})?)?$|!$")


class TerminalStream:
    """A streamed answer as a provisional draft: tokens (sanitised, dimmed, markdown links held
    back until complete) go into a live region of the terminal, which is erased before the
    verified answer is printed, so no text that verification removed stays on screen.

    Streams only to a terminal that understands cursor movement; the draft stops growing
    before it would scroll off the screen (it could not be erased any more).
    """

    def __init__(self, enabled: bool, *, ansi: bool | None = None) -> None:
        if ansi is None:  # a terminal that cannot move its cursor could not erase the draft
            ansi = os.environ.get("TERM", "") not in ("", "dumb", "unknown")
        self.enabled = enabled and ansi
        self.noticed: list[str] = []
        self._held = ""
        self._rows = 1  # screen rows the draft occupies
        self._col = 0
        self._shown = False
        self._full = False
        size = shutil.get_terminal_size()
        # rows the draft may fill: it must never scroll off the screen, where it could not be
        # erased (a margin of 4 rows for a width the terminal counts differently)
        self._width, self._limit = max(20, size.columns), max(2, size.lines - 4)

    @property
    def sink(self) -> Callable[[str], None] | None:
        """The on_token callback, or None when not streaming."""
        return self._token if self.enabled else None

    def _token(self, token: str) -> None:
        text = self._held + sanitize(token)  # per token: no escape sequence survives a split
        match = _OPEN_LINK.search(text)
        cut = match.start() if match else len(text)
        out, self._held = text[:cut], text[cut:]
        self._show(strip_offsource_links(out, set()))

    def _show(self, text: str) -> None:
        if self._full or not text:
            return
        text = text.replace("\t", " ")  # a tab's width depends on the column: counted as one
        fits = []
        for ch in text:
            rows, col = self._advance(ch)
            if rows > self._limit:
                self._full = True
                break
            self._rows, self._col = rows, col
            fits.append(ch)
        if fits:
            # color=True: the draft exists only on a terminal (enabled), where it must be erasable
            click.echo(click.style("".join(fits), dim=True), nl=False, color=True)
            self._shown = True

    def _advance(self, ch: str) -> tuple[int, int]:
        if ch == "\n":
            return self._rows + 1, 0
        width = char_cells(ch)
        if self._col + width > self._width:
            return self._rows + 1, width
        return self._rows, self._col + width

    def erase(self) -> None:
        """Remove the draft from the screen (cursor back to where it began).

        Row by row (erase line, cursor down: neither scrolls), then clear below the last row for
        a row the terminal wrapped more than counted. Not one "clear to the end of the screen"
        from the draft's first row: when that row is the top of the screen (after `clear`), tmux
        takes it for clearing the whole screen and moves the draft into its scroll-back.
        """
        if self._shown:
            up = f"\x1b[{self._rows - 1}A" if self._rows > 1 else ""
            rows = "\x1b[2K" + "\x1b[B\x1b[2K" * (self._rows - 1)
            click.echo(f"\r{up}{rows}\x1b[J{up}", nl=False, color=True)
        self._held, self._rows, self._col, self._shown, self._full = "", 1, 0, False, False

    def notice(self, message: str) -> None:
        """Report an LLM fault (qa.ask's notice); the draft on screen is erased first."""
        self.erase()
        self.noticed.append(message)
        click.echo(sanitize(message, False), err=True)

    def reset(self) -> None:
        """Forget the previous answer (call before each question)."""
        self.erase()
        self.noticed = []


def print_answer(answer: Answer, as_json: bool, streamed: TerminalStream | None = None) -> None:
    """JSON on stdout, or the answer + sources on stdout and warnings on stderr.

    `streamed` is the TerminalStream that showed the draft: it is erased and the verified answer
    printed in full; its notices are not repeated as warnings.
    """
    noticed: list[str] = []
    if streamed is not None:
        noticed = list(streamed.noticed)
        streamed.erase()
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return
    allowed = {c.url for c in answer.citations if c.url}
    shown = dataclasses.replace(
        answer, warnings=[w for w in answer.warnings if not any(w.startswith(n) for n in noticed)]
    )
    for line in render_warnings(shown, terminal_width(sys.stderr)):
        click.secho(strip_offsource_links(line, allowed), err=True, dim=True)
    click.echo(render_answer(answer, width=terminal_width(sys.stdout)))


def terminal_width(stream: Any) -> int | None:
    """The terminal's width in cells when `stream` is a terminal (output is wrapped to it at word
    boundaries); None for a pipe or file, whose lines stay as they are."""
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):  # closed or replaced streams (tests, CliRunner)
        return None
    return max(20, shutil.get_terminal_size().columns)


def _progress_bar(total_hint: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total_hint, unit="article", file=sys.stderr, disable=None,
                dynamic_ncols=True, smoothing=0.1)


def run_ingest(app: App, paths: list[str], prune: bool, force: bool, no_wait: bool,
               as_json: bool) -> None:
    """Index PATHS with a progress bar, print what was indexed and skipped; exit 4 when some files
    were skipped, 5 when nothing could be indexed."""

    bar: Any = None

    def progress(done: int, total: int, embedded: int) -> None:
        nonlocal bar
        if bar is None:
            bar = _progress_bar(total)
        bar.total = total
        bar.n = done
        bar.set_postfix_str(f"chunks {embedded}", refresh=False)
        bar.refresh()

    notice = "Another ingest is writing to this store: waiting for it to finish..."
    with app.writer_lock(wait=not no_wait, on_wait=lambda: click.echo(notice, err=True)):
        report = app.indexer(progress).run(paths, prune=prune, force=force)
    if bar is not None:
        bar.close()
    if as_json:
        data = asdict(report)
        data["skipped"] = [asdict(s) for s in report.skipped]
        data["outcome"] = report.outcome
        click.echo(json.dumps(data, indent=2))
    else:
        _print_ingest(app, report)
    if INGEST_EXIT[report.outcome]:
        sys.exit(INGEST_EXIT[report.outcome])


def _print_ingest(app: App, report: Any) -> None:
    for s in report.skipped:
        click.echo(sanitize(f"skipped {s.path}: {s.reason}", False), err=True)
    for note in report.notes:
        click.echo(sanitize(note, False), err=True)
    rate = report.embedded / report.seconds if report.seconds else 0.0
    click.echo(
        f"Indexed {report.articles_new} new and {report.articles_changed} changed article(s) "
        f"({report.articles_unchanged} unchanged, {report.articles_removed} removed, "
        f"{len(report.skipped)} skipped): {report.chunks_added} chunks embedded, "
        f"{report.chunks_removed} removed, in {report.seconds:.1f} s ({rate:.1f} chunks/s). "
        f"Store: {app.store.where}"
    )
    if report.files_seen == 0 and not report.skipped:
        click.echo("Nothing to index: the paths hold no files.", err=True)


def chat_io(app: App, streamed: TerminalStream | None) -> Any:
    """The terminal side of the chat loop (pass the TerminalStream the answers stream through)."""
    from assistant.cli.chat import ChatIO

    def show(answer: Answer) -> None:
        print_answer(answer, as_json=False, streamed=streamed)

    history = app.state_dir / "chat_history"
    return ChatIO(
        read=lambda prompt: input(prompt),
        write=lambda text: click.echo(text),
        show_answer=show,
        show_passages=lambda ps: click.echo(render_passages(ps, terminal_width(sys.stdout))),
        history_file=history,
    )


def run_eval_command(app: App, questions: Path, out: Path | None, limit: int | None, resume: bool,
                     compare: str | None, opts: Any, jobs: int = 1) -> None:
    """Run `assistant eval` with a progress bar, print the summary and the deltas."""
    from assistant.eval.run import evaluate_file

    summary, out_dir = evaluate_file(app, questions, out, limit, resume, opts,
                                     progress_factory=_progress_bar, notice=lambda m: click.echo(
                                         sanitize(m, False), err=True), jobs=jobs)
    click.echo(json.dumps(summary["metrics"], indent=2))
    click.echo(f"Results in {out_dir} (results.jsonl, summary.json, report.md, report.png)")
    if compare:
        from assistant.eval.evaluate import compare_summaries, format_comparison

        other = json.loads(Path(compare).read_text("utf-8"))
        click.echo(format_comparison(compare_summaries(summary, other)))


def run_doctor(app: App, repair: bool, sample: int) -> None:
    """Print the doctor's findings; exit 1 when the store is damaged and not repaired."""
    from assistant.index.doctor import check_store, repair_store

    def waiting() -> None:
        click.echo("Another ingest is writing to this store: waiting for it to finish...", err=True)

    report = check_store(app.index_parts(), sample, on_wait=waiting)
    for line in report.lines():
        click.echo(line)
    if report.ok:
        return
    if not repair:
        click.echo("The store is damaged: run `assistant doctor --repair` to rebuild it.", err=True)
        sys.exit(1)
    click.echo("Repairing: rebuilding the vectors from the manifest and the embedding cache, "
               "then re-reading changed files...", err=True)
    result = repair_store(app.index_parts(), on_wait=waiting)
    click.echo(f"Rebuilt: {result}")
