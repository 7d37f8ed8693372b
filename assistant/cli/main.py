"""The Click interface: thin commands that parse, call one core function, render, map errors."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from assistant.errors import AssistantError

F = Callable[..., Any]


class Group(click.Group):
    """Maps AssistantError (and anything unexpected) to one line on stderr; --debug re-raises."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except AssistantError as exc:
            if ctx.meta.get("debug"):
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
            import os
            import sys

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
            ctx.exit(141)  # 128 + SIGPIPE, what a shell reports for it
        except Exception as exc:
            if ctx.meta.get("debug"):
                raise
            from assistant.cli.render import sanitize

            click.echo(f"Error: unexpected {type(exc).__name__}: {sanitize(str(exc), False)[:300]} "
                       "(run with --debug for a traceback)", err=True)
            ctx.exit(1)


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    from assistant.dates import parse_day

    try:
        return parse_day(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}: use YYYY-MM-DD, e.g. 2024-07-04") from None


def question_options(f: F) -> F:
    """Options shared by ask, chat and eval."""
    for opt in reversed([
        click.option("--top-k", type=click.IntRange(1, 50), default=None,
                     help="Passages to retrieve (default: ASSISTANT_TOP_K or 5)."),
        click.option("--as-of", callback=_date, help="Ignore articles published after this date."),
        click.option("--since", callback=_date, help="Only articles published on or after this date."),
        click.option("--until", callback=_date, help="Only articles published on or before this date."),
        click.option("--source", help="Only articles from this outlet (e.g. cnn.com)."),
        click.option("--no-llm", is_flag=True, help="Use the offline answerer even if an LLM is set."),
        click.option("--model", help="LLM model name (ASSISTANT_LLM_MODEL)."),
        click.option("--base-url", help="OpenAI-compatible server URL (OPENAI_BASE_URL)."),
    ]):
        f = opt(f)
    return f


def _app(ctx: click.Context, **overrides: Any) -> Any:
    from assistant.app import build_app
    from assistant.config import load_settings

    merged = {**ctx.obj, **{k: v for k, v in overrides.items() if v is not None}}
    return build_app(load_settings(merged))


def _notice(msg: str) -> None:
    from assistant.cli.render import sanitize

    click.echo(sanitize(msg, False), err=True)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--store", envvar="ASSISTANT_STORE", help="Store folder (default .assistant).")
@click.option("--chroma-url", envvar="ASSISTANT_CHROMA_URL", help="Use a Chroma server instead.")
@click.option("--embed-model", envvar="ASSISTANT_EMBED_MODEL",
              help="local:minilm-l6-q8 (default), local:minilm-l6 or openai:<model>.")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(package_name="assistant")
@click.pass_context
def cli(ctx: click.Context, store: str | None, chroma_url: str | None, embed_model: str | None,
        debug: bool) -> None:
    """Ask questions about a folder of news articles; every claim cites its article.

    \b
    assistant ingest ~/news            index articles (txt, md, html, json, jsonl)
    assistant ask "Who joined the SCO in 2024?"
    assistant chat                     follow-up questions in a session
    assistant eval questions.jsonl     score the assistant on a question file

    Works offline by default. Set OPENAI_API_KEY or OPENAI_BASE_URL (any OpenAI-compatible
    server) to have an LLM write the answers. Settings: see .env.example.
    """
    ctx.meta["debug"] = debug
    ctx.obj = {"store": store, "chroma_url": chroma_url, "embed_model": embed_model}


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--prune", is_flag=True, help="Also remove articles whose files are gone.")
@click.option("--force", is_flag=True, help="Re-read files even when unchanged.")
@click.option("--no-wait", is_flag=True, help="Exit if another ingest holds the store.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[str, ...], prune: bool, force: bool, no_wait: bool,
           as_json: bool) -> None:
    """Index articles from PATHS (files or folders; default: the bundled seeds/).

    A file that cannot be read is skipped with one line saying why, and the ingest goes on.

    \b
    Exit status:
      0  everything found was indexed (or was already)
      2  bad input or settings (e.g. a path that does not exist)
      3  another ingest holds the store (--no-wait)
      4  some files or JSONL lines were skipped; the rest was indexed
      5  files were found, but not one article could be indexed
    """
    from assistant.cli.commands import run_ingest

    app = _app(ctx)
    run_ingest(app, list(paths) or [app.settings.seeds_dir], prune, force, no_wait, as_json)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(), required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def sync(ctx: click.Context, paths: tuple[str, ...], as_json: bool) -> None:
    """Make the index match PATHS: add new, re-embed changed, remove deleted articles.

    Exit status as for `ingest` (0 all indexed, 4 some files skipped, 5 nothing indexed).
    """
    from assistant.cli.commands import run_ingest

    run_ingest(_app(ctx), list(paths), True, False, False, as_json)


def _ask_options(app: Any, top_k: int | None, as_of: dt.date | None, since: dt.date | None,
                 until: dt.date | None, source: str | None, no_llm: bool) -> Any:
    from assistant.qa import AskOptions

    return AskOptions(top_k=top_k or app.settings.top_k, as_of=as_of, since=since, until=until,
                      source=source, no_llm=no_llm)


@cli.command()
@click.argument("question")
@question_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (never streams).")
@click.pass_context
def ask(ctx: click.Context, question: str, top_k: int | None, as_of: dt.date | None,
        since: dt.date | None, until: dt.date | None, source: str | None, no_llm: bool,
        model: str | None, base_url: str | None, as_json: bool) -> None:
    """Answer QUESTION from the indexed articles, with numbered citations."""
    from assistant.cli.commands import TerminalStream, print_answer
    from assistant.qa import ask as run_ask
    from assistant.qa import ensure_indexed

    app = _app(ctx, llm_model=model, openai_base_url=base_url, no_llm=no_llm or None)
    ensure_indexed(app, _notice)
    opts = _ask_options(app, top_k, as_of, since, until, source, no_llm)
    stream = TerminalStream(enabled=not as_json and sys.stdout.isatty())
    answer = run_ask(app, question, opts, on_token=stream.sink, notice=stream.notice)
    print_answer(answer, as_json, streamed=stream)


@cli.command()
@question_options
@click.pass_context
def chat(ctx: click.Context, top_k: int | None, as_of: dt.date | None, since: dt.date | None,
         until: dt.date | None, source: str | None, no_llm: bool, model: str | None,
         base_url: str | None) -> None:
    """Chat: ask follow-up questions (/help, /sources, /usage, /reset, /quit)."""
    from assistant.cli.chat import run_chat
    from assistant.cli.commands import TerminalStream, chat_io
    from assistant.qa import ask as run_ask
    from assistant.qa import ensure_indexed

    app = _app(ctx, llm_model=model, openai_base_url=base_url, no_llm=no_llm or None)
    ensure_indexed(app, _notice)
    opts = _ask_options(app, top_k, as_of, since, until, source, no_llm)
    stream = TerminalStream(enabled=sys.stdout.isatty())
    if sys.stdin.isatty() and not opts.uses_llm(app.settings) and app.parser:
        app.parser.warm_in_background()  # the offline answerer's parser loads while the user types

    def answer_fn(question: str, history: list[tuple[str, str]]) -> Any:
        stream.reset()
        return run_ask(app, question, opts, history=history, on_token=stream.sink,
                       notice=stream.notice)

    run_chat(answer_fn, chat_io(app, stream))


@cli.command(name="eval")
@click.argument("questions", type=click.Path())
@click.option("--out", type=click.Path(), help="Output folder (default eval-results/<time>/).")
@click.option("--limit", type=click.IntRange(1), help="Only the first N questions.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out.")
@click.option("--compare", type=click.Path(exists=True, dir_okay=False),
              help="Another run's summary.json: print the deltas.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Worker processes answering at once (default: one per core, at most 4, offline; "
                   "one with an LLM); the answers are the same as with --jobs 1.")
@question_options
@click.pass_context
def eval_cmd(ctx: click.Context, questions: str, out: str | None, limit: int | None, resume: bool,
             compare: str | None, jobs: int | None, top_k: int | None, as_of: dt.date | None,
             since: dt.date | None, until: dt.date | None, source: str | None, no_llm: bool,
             model: str | None, base_url: str | None) -> None:
    """Run a question file (JSONL or one question per line) and score the answers.

    \b
    A JSONL line: {"question": ..., "answer": ..., "aliases": [...], "choices": [...],
    "answer_index": N, "gold_doc_ids": [...], "as_of": DATE, "question_type": ...}.
    "answer": "" (or "answerable": false, or question_type "unanswerable") marks a question
    the articles cannot answer: refusal precision and recall are scored on those.
    """
    from assistant.cli.commands import run_eval_command
    from assistant.eval.run import default_jobs

    app = _app(ctx, llm_model=model, openai_base_url=base_url, no_llm=no_llm or None)
    opts = _ask_options(app, top_k, as_of, since, until, source, no_llm)
    run_eval_command(app, Path(questions), Path(out) if out else None, limit, resume, compare, opts,
                     jobs or default_jobs(opts.uses_llm(app.settings)))


@cli.command()
@click.option("--repair", is_flag=True, help="Rebuild the store from the source files.")
@click.option("--sample", type=click.IntRange(1), default=50, help="Chunks checked for self-retrieval.")
@click.pass_context
def doctor(ctx: click.Context, repair: bool, sample: int) -> None:
    """Check the store: it opens, matches the manifest, and chunks find themselves."""
    from assistant.cli.commands import run_doctor

    run_doctor(_app(ctx), repair, sample)


def main() -> None:
    """Console entry point."""
    cli(prog_name="assistant")


if __name__ == "__main__":
    main()


