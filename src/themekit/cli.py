"""The `themekit` command line: thin click commands, each calling one library function."""

from __future__ import annotations

import signal
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task,
                           TextColumn, TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text
from rich.table import Table
from rich.tree import Tree

from themekit import __version__
from themekit.codebook import COMBINE_POLICIES, Codebook, find_codebook_path, load_codebook
from themekit.errors import InputError, PluginError, SettingError, ThemekitError
from themekit.io.records import refuse_overwriting
from themekit.plugins import registered_codebooks

err_console = Console(stderr=True)
out_console = Console()


class ThemekitCommand(click.Command):
    """A setting the library refuses (`SettingError`) is reported as click reports a bad
    option: by its flag, with the usage line."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ThemekitError as exc:
            param = next((p for p in self.params if p.name == exc.setting), None)
            if param is None:
                raise
            if isinstance(exc, SettingError):
                raise click.BadParameter(exc.problem, ctx=ctx, param=param) from exc
            exc.flag = max(param.opts, key=len) if param.opts else param.name
            raise


class ThemekitSubgroup(click.Group):
    """A group of commands under `themekit` (`themekit codebook ...`); errors are reported
    once, by the top-level group."""

    command_class = ThemekitCommand


class ThemekitGroup(click.Group):
    """Turns what a user can fix (`ThemekitError`) into one clear line and exit code 1;
    anything else is a bug and keeps its traceback, under a line that says so. Plugins add
    commands through `register_commands(cli)`, loaded only when a name is not a built-in
    command or the commands are listed, and only when a plugin is installed or registered,
    so neither `themekit annotate` nor `themekit --help` waits for them otherwise."""

    command_class = ThemekitCommand
    group_class = ThemekitSubgroup

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plugin_commands: dict[str, set[str]] = {}  # plugin name -> its commands

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            self._add_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            self._add_plugin_commands()
        except ThemekitError as exc:  # --help still works with a broken plugin installed
            err_console.print(f"[yellow]warning:[/] {escape(str(exc))}", highlight=False,
                              soft_wrap=True)
        return super().list_commands(ctx)

    def _add_plugin_commands(self) -> None:
        """The commands of every plugin registered since the last look (and none of a
        plugin removed since). A plugin may not replace a command."""
        from themekit.plugins import REGISTRY, third_party_installed

        if not REGISTRY.loaded and not third_party_installed():
            return  # only plugins can add commands: `themekit --help` need not load spaCy
        impls = {impl.plugin_name: impl
                 for impl in REGISTRY.manager.hook.register_commands.get_hookimpls()}
        for gone in set(self._plugin_commands) - set(impls):
            for name in self._plugin_commands.pop(gone):
                self.commands.pop(name, None)
        for plugin, impl in impls.items():
            if plugin in self._plugin_commands:
                continue
            before = dict(self.commands)
            try:
                impl.function(cli=self)
            except Exception as exc:
                raise PluginError(f"plugin '{plugin}' raised in register_commands: "
                                  f"{exc}") from exc
            replaced = sorted(name for name in before if self.commands[name] is not before[name])
            self._plugin_commands[plugin] = set(self.commands) - set(before)
            if replaced:
                self.commands.update(before)
                raise PluginError(f"plugin '{plugin}' registers command(s) "
                                  f"{', '.join(replaced)}, which themekit already has")

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ThemekitError as exc:
            flag = getattr(exc, "flag", None)  # the option that fixes it (ThemekitCommand)
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}"
                              + (f" (see {escape(flag)})" if flag else ""), highlight=False,
                              soft_wrap=True)
            sys.exit(1)
        except KeyboardInterrupt:  # click would say "Aborted!" and exit 1
            err_console.print("interrupted", highlight=False)
            sys.exit(128 + signal.SIGINT)  # 130, as shells expect of Ctrl-C
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception:
            err_console.print("[bold red]error:[/] an unexpected error, which is a bug in "
                              "themekit or one of its plugins: please report it with the "
                              "traceback below", highlight=False, soft_wrap=True)
            raise



@click.group(cls=ThemekitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="themekit")
def main() -> None:
    """Code social-media comments with a codebook: rules and a transformer model together.

    \b
    Quick start:
      themekit annotate examples/comments.jsonl -o coded.jsonl
      themekit report coded.jsonl
    """
    if threading.current_thread() is threading.main_thread():
        for stop in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(stop, _exit_on_signal)


def _exit_on_signal(signum: int, frame: object) -> None:
    """`kill` (or a scheduler's time limit) and SIGHUP (a closed terminal, a dropped SSH
    session) unwind like Ctrl-C: half-written outputs are removed and earlier ones kept,
    instead of .partial files left behind."""
    sys.exit(128 + signum)


def codebook_option(func):
    return click.option(
        "--codebook", "-c", default="llm-mental-health", show_default=True,
        help="Codebook name (see `themekit codebook list`) or path to a codebook YAML file.",
    )(func)


class RateColumn(ProgressColumn):
    """Items per second, as rich's speed estimate gives it (blank until it has one)."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f}/s" if task.speed else "")


def _progress() -> Progress:
    """The one progress display of the CLI, on stderr; hidden when that is not a terminal."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    RateColumn(), TimeElapsedColumn(),
                    TextColumn("left"), TimeRemainingColumn(), console=err_console,
                    disable=not err_console.is_terminal)


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[], None]]:
    """A rich progress bar on stderr when it is a terminal; a no-op otherwise."""
    if not err_console.is_terminal:
        yield lambda: None
        return
    with _progress() as progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)


def count_lines(path: str) -> int | None:
    """Lines (or Parquet rows) of an input file, decompressed, for a progress bar's total;
    None for stdin."""
    if path == "-":
        return None
    from themekit.io.records import detect_format, open_input

    if detect_format(path, None) == "parquet":
        from themekit.io.parquet import parquet_row_count

        return parquet_row_count(path)
    with open_input(path) as handle:
        return sum(1 for _ in handle)


@main.command()
@click.argument("input_path", metavar="INPUT",
                type=click.Path(exists=True, allow_dash=True, dir_okay=False))
@click.option("--output", "-o", required=True, type=click.Path(allow_dash=True, dir_okay=False),
              help="Coded JSONL to write ('-' for stdout); .jsonl.gz or .jsonl.zst compresses "
              "it, .parquet writes Parquet (columns per tier, the themekit object as JSON).")
@codebook_option
@click.option("--model", "-m", type=click.Path(exists=True, file_okay=False),
              help="A model directory from `themekit train` (default: the codebook's own "
              "model when it ships one, else rules only).")
@click.option("--rules-only", is_flag=True,
              help="Code with the codebook's rules alone: no model, no encoder to load "
              "(thousands of comments a second).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]),
              help="Input format (default: .csv is CSV, .parquet or a file starting like one "
              "Parquet, anything else JSONL).")
@click.option("--text-field", default="text", show_default=True, help="Field holding the comment.")
@click.option("--id-field", default="id", show_default=True, help="Field holding the record id.")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False),
              help="Where bad records go (default: beside OUTPUT, coded.jsonl -> "
              "coded.errors.jsonl). Must not be INPUT or OUTPUT.")
@click.option("--strict", is_flag=True, help="Stop with exit code 1 at the first bad record.")
@click.option("--resume", is_flag=True,
              help="Write through checkpoints beside the outputs (OUTPUT.checkpoint) that an "
              "interruption keeps; the same command again continues where it stopped.")
@click.option("--redact", is_flag=True,
              help="Replace e-mails, phones, links, IP addresses and @handles with [EMAIL] "
              "[PHONE] [URL] [IP] [@USER] (and what plugin detectors mark with redact_as), "
              "exactly the characters found; offsets follow.")
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(min=1),
              help="Documents per nlp.pipe batch.")
@click.option("--combine", type=click.Choice(COMBINE_POLICIES),
              help="One combine policy for every code, instead of the codebook's "
              "(`model` gives model-only codes, `rules` rules-only).")
@click.option("--quantize", is_flag=True,
              help="Int8 dynamic quantization of the model's transformer (faster on CPU).")
@click.option("--workers", type=click.IntRange(min=1),
              help="Code on a local Dask cluster of N worker processes (all the cores of "
              "this machine: one per core). Needs pip install 'themekit[dask]'.")
@click.option("--scheduler", envvar="DASK_SCHEDULER_ADDRESS",
              help="Code on the running Dask cluster whose scheduler is at ADDRESS "
              "(tcp://host:8786; default $DASK_SCHEDULER_ADDRESS). See docs/scaling.md.")
@click.option("--torch-threads", type=click.IntRange(min=1),
              help="With --workers or --scheduler: torch threads per worker process "
              "[default: 1].")
@click.option("--partition-size", type=click.IntRange(min=1),
              help="With --workers or --scheduler: records per task, rounded up to whole "
              "--batch-size batches [default: 512].")
def annotate(input_path, output, codebook, model, rules_only, fmt, text_field, id_field,
             errors_path, strict, resume, redact, batch_size, combine, quantize, workers,
             scheduler, torch_threads, partition_size):
    """Code every comment in INPUT (JSONL or CSV, plain, .gz or .zst, or Parquet; '-' for
    stdin) with a codebook.

    Rules and a model code together: the codebook's default model (the built-in codebook
    ships one, trained on hand-coded real comments), or --model, or rules alone with
    --rules-only. Each output line is the input object with a `themekit` object added:
    codes per tier, flags, scores, evidence, provenance, review reasons and the model that
    coded it. Bad records go to the errors file with their line number and reason; the
    summary's counts always add up. When every record is rejected (a wrong --text-field,
    say), the exit code is 1.

    \b
    Examples:
      themekit annotate comments.jsonl -o coded.jsonl
      themekit annotate comments.jsonl -o coded.jsonl --rules-only
      themekit annotate big.jsonl.gz -o coded.jsonl --resume   # again after an interruption
      themekit annotate comments.csv -o coded.jsonl --text-field body --redact
      themekit annotate comments.parquet -o coded.parquet   # pip install 'themekit[parquet]'
      themekit annotate comments.jsonl -o coded.jsonl --model models/mh
      themekit annotate comments.jsonl -o model-only.jsonl --model models/mh --combine model
      themekit annotate comments.jsonl -o coded.jsonl --model models/mh --quantize
      cat comments.jsonl | themekit annotate - -o - > coded.jsonl
      themekit annotate big.jsonl -o coded.jsonl --workers 8   # pip install 'themekit[dask]'
      themekit annotate big.jsonl -o coded.jsonl --scheduler tcp://10.0.0.5:8786
    """
    from themekit.annotate import annotate_file
    from themekit.errors import StrictModeError
    from themekit.nlp.pipeline import build_pipeline, describe_system

    if Path(output).suffix.lower() in {".csv", ".tsv", ".xlsx"}:
        raise click.UsageError(f"-o {output}: annotate writes JSONL (one coded record a line) "
                               "or Parquet; name it .jsonl or .parquet, then `themekit export "
                               "CODED --format csv-matrix` gives a spreadsheet of the codes")
    if rules_only and (model or quantize):
        raise click.UsageError(f"--rules-only codes without a model; drop "
                               f"{'--model' if model else '--quantize'}")
    if workers and click.get_current_context().get_parameter_source("scheduler") \
            is click.core.ParameterSource.ENVIRONMENT:
        scheduler = None  # --workers given here wins over the environment's cluster
    if workers and scheduler:
        raise click.UsageError("--workers starts a cluster here, --scheduler uses a running "
                               "one; give one of them")
    if (torch_threads or partition_size) and not (workers or scheduler):
        raise click.UsageError("--torch-threads and --partition-size set how Dask workers "
                               "code; give --workers or --scheduler")
    if workers or scheduler:
        from themekit.distributed import require_dask, start_local_worker_parent

        require_dask()
        if workers:
            start_local_worker_parent()  # imports for the workers while this one builds
    nlp = build_pipeline(load_codebook(codebook), model, combine=combine, quantize=quantize,
                         rules_only=rules_only)
    with ExitStack() as stack:
        coder = None
        if workers or scheduler:
            from themekit.distributed import PipelineSpec, cluster_coder

            coder = stack.enter_context(cluster_coder(
                PipelineSpec.of(codebook, model, combine=combine, quantize=quantize,
                                rules_only=rules_only, torch_threads=torch_threads or 1),
                workers=workers, scheduler=scheduler, partition_size=partition_size,
                text_field=text_field, redact=redact, batch_size=batch_size))
            err_console.print(coder.describe(), highlight=False, soft_wrap=True, markup=False)
        with progress_bar("coding", count_lines(input_path)) as advance:
            try:
                summary = annotate_file(
                    nlp, input_path, output, errors_path=errors_path, text_field=text_field,
                    id_field=id_field, fmt=fmt, strict=strict, redact=redact,
                    batch_size=batch_size, on_record=advance,
                    protected=_codebook_files(codebook), resume=resume, coder=coder,
                )
            except StrictModeError as exc:
                raise click.ClickException(f"--strict: {exc}") from exc
        if coder:
            memory = coder.peak_memory()
            err_console.print(f"{len(memory)} Dask worker(s), peak memory "
                              + ", ".join(f"{m / 2**20:,.0f} MB" for m in memory.values()),
                              highlight=False, soft_wrap=True)
    for line in summary.first_errors:
        err_console.print(f"[yellow]rejected[/] {escape(line)}", highlight=False, soft_wrap=True)
    for line in summary.id_warnings(id_field):
        err_console.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)
    err_console.print(
        f"read {summary.read} · written {summary.written} · rejected {summary.rejected}"
        f" → {summary.output}" + (f" (errors: {summary.errors_file})" if summary.rejected else "")
        + f"; coded by {describe_system(nlp)}"
        + (f" (resumed: {summary.resumed} records were already done)" if summary.resumed
           else "")
        + (f" (removed {summary.errors_file}, an earlier run's errors)"
           if summary.removed_stale_errors else ""),
        highlight=False, soft_wrap=True, markup=False,
    )
    if summary.read and not summary.written:
        raise InputError(f"{input_path}: every record was rejected, none coded (is the text in "
                         f"'{text_field}'? see --text-field and --format)")


@main.command()
@click.argument("train_paths", metavar="TRAIN...", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False))
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False),
              help="Model directory to write (a spaCy pipeline plus themekit-model.json).")
@click.option("--texts", "texts_path", type=click.Path(exists=True, dir_okay=False),
              help="Corpus (JSONL or CSV with id and text) that gives training lines without "
              "a text theirs, by id: real comments ship as ids and labels only.")
@click.option("--mode", type=click.Choice(["heads", "finetune"]), default="heads",
              show_default=True,
              help="heads: linear heads on the frozen encoder, settings chosen by "
              "cross-validation (minutes, a model of kilobytes); finetune: fine-tune the "
              "transformer with a dev split (tens of minutes, a model of ~90 MB).")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(min=2),
              help="heads: cross-validation folds.")
@click.option("--tune-on", "tune_on", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="heads: choose the setting and thresholds on these TRAIN files' "
              "out-of-fold scores only (e.g. the real comments). Repeatable; default all.")
@click.option("--dev", "dev_path", type=click.Path(exists=True, dir_okay=False),
              help="finetune: dev JSONL in the same format (default: a seeded split of TRAIN).")
@click.option("--dev-split", default=0.2, show_default=True,
              help="finetune: share of TRAIN held out as dev data when no --dev is given.")
@codebook_option
@click.option("--base", help="Base transformer: a local Hugging Face model folder "
              "(default: the packaged all-MiniLM-L6-v2).")
@click.option("--epochs", default=10, show_default=True,
              help="finetune: passes over the training data.")
@click.option("--seed", default=0, show_default=True, help="Seed for splits, order and init.")
@click.option("--name", help="The model's name, which every record it codes carries "
              "(default: the output folder's name).")
@click.option("--batch-size", default=16, show_default=True, help="finetune: examples per update.")
@click.option("--max-length", type=click.IntRange(min=8),
              help="Wordpieces kept per comment, longer ones are truncated (default: 256 for "
              "heads, 128 for finetune).")
@click.option("--learn-rate", default=1e-4, show_default=True,
              help="finetune: peak learning rate (linear warm-up over 10% of steps, then decay).")
def train(train_paths, output, texts_path, mode, folds, tune_on, dev_path, dev_split, codebook,
          base, epochs, seed, name, batch_size, max_length, learn_rate):
    """Train the model for a codebook from one or more TRAIN files, JSONL of
    {"id", "text", TIER: codes...} lines (the gold format plus text; a line without text
    takes it from --texts by id).

    Every line is validated before training starts. The default mode encodes each comment
    once with the frozen sentence encoder and fits a softmax head per exclusive tier and a
    logistic head per code of a multi tier, choosing regularisation, class weighting and
    per-code thresholds by k-fold cross-validation. --mode finetune fine-tunes the
    transformer instead, keeping the epoch with the best dev macro-F1. Either way the
    output directory gets a model card (themekit-model.json) with data hashes, seed,
    thresholds and metrics, and the training time and peak memory are printed.
    Works offline: set HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1.

    \b
    Examples:
      themekit train codebooks/llm-mental-health/train*.jsonl --texts comments-10k.jsonl -o models/mh
      themekit train train.jsonl real.jsonl --texts corpus.jsonl --tune-on real.jsonl -o models/mh
      themekit train train.jsonl -o models/ft --mode finetune --dev dev.jsonl --epochs 6
      themekit train train.jsonl -o models/custom --codebook my-codebook.yaml
      themekit annotate comments.jsonl -o coded.jsonl --model models/mh
    """

    from themekit.model.card import CARD_FILE, render_card

    book = load_codebook(codebook)
    warn = lambda m: err_console.print(Text.assemble(("warning: ", "yellow"), m))  # noqa: E731
    if mode == "heads":
        for flag, given in (("--dev", dev_path), ("--base", base)):
            if given:
                raise click.UsageError(f"{flag} is for --mode finetune; heads cross-validate on "
                                       "TRAIN with the packaged encoder")
        result = _train_heads(train_paths, output, book, texts_path, tune_on, folds, seed,
                              name, max_length or 256, warn)
    else:
        if tune_on:
            raise click.UsageError("--tune-on is for --mode heads; finetune tunes on --dev")
        result = _train_finetune(train_paths, output, book, texts_path, dev_path, base,
                                 epochs, seed, name, batch_size, max_length or 128, learn_rate,
                                 dev_split, warn)
    err_console.print(render_card(result.card))
    err_console.print(f"model → {result.model_dir} (card: {result.model_dir / CARD_FILE}), "
                      f"trained in {result.card['training_seconds']:.0f}s, "
                      f"peak memory {result.card['peak_rss_mb']} MB", highlight=False)


def _train_heads(train_paths, output, book, texts_path, tune_on, folds, seed, name, max_length,
                 warn):
    from themekit.model.train_heads import HeadsOptions, train_heads

    options = HeadsOptions(folds=folds, seed=seed, max_length=max_length)
    with _progress() as progress:
        task = progress.add_task("encoding", total=None)

        def show_setting(report):
            tiers = " · ".join(f"{t} {m['macro_f1']:.3f}" for t, m in report.tiers.items()
                               if m["macro_f1"] is not None)
            err_console.print(f"{report.setting.describe():<18} cross-validated macro-F1 "
                              f"[bold]{report.macro_f1:.3f}[/] ({tiers})", highlight=False,
                              soft_wrap=True)

        return train_heads(train_paths, output, book, texts_path=texts_path, tune_on=tune_on,
                           options=options, name=name, on_warning=warn,
                           on_encode=lambda done, total: progress.update(task, completed=done,
                                                                         total=total),
                           on_setting=show_setting)


def _train_finetune(train_paths, output, book, texts_path, dev_path, base, epochs, seed, name,
                    batch_size, max_length, learn_rate, dev_split, warn):
    from themekit.model.finetune import TrainOptions, train_model

    options = TrainOptions(epochs=epochs, seed=seed, batch_size=batch_size,
                           max_length=max_length, learn_rate=learn_rate, dev_split=dev_split)
    with _progress() as progress:
        task = progress.add_task("training", total=None)

        def show_epoch(report):
            tiers = " · ".join(f"{t} {f:.3f}" for t, f in report.tier_f1.items())
            mark = "  [green]★ best[/]" if report.best else ""
            err_console.print(f"epoch {report.epoch:>2}/{epochs}  loss {report.loss:.4f}  "
                              f"dev macro-F1 [bold]{report.macro_f1:.3f}[/] ({tiers})  "
                              f"{report.seconds:.0f}s{mark}", highlight=False, soft_wrap=True)

        return train_model(train_paths, output, book, dev_path=dev_path, texts_path=texts_path,
                           base=base, options=options, name=name, on_warning=warn,
                           on_start=lambda total: progress.update(task, total=total),
                           on_step=lambda: progress.advance(task), on_epoch=show_epoch)


@main.command("report")
@click.argument("coded_path", metavar="CODED", type=click.Path(exists=True, dir_okay=False))
@click.option("--codebook", "-c", default=None,
              help="Codebook name or YAML path (default: the one named in the records).")
@click.option("--by", help="Exclusive tier whose codes split the comments into groups, or a "
              "field of the records whose values do (source, rating...; FIELD:month, :year "
              "or :day for the period of an ISO date; default: the first exclusive tier).")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "json"]),
              help="Output format (default: table).")
@click.option("--output", "-o", type=click.Path(allow_dash=True, dir_okay=False),
              help="Write the report to this file instead of the terminal.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False),
              help="Also write a self-contained HTML report with charts to this file.")
@click.option("--calibration", type=click.Path(exists=True, dir_okay=False),
              help="JSON from `themekit evaluate --json`: add shares corrected for "
              "classifier error (Rogan-Gladen, bootstrap intervals).")
@click.option("--model-card", type=click.Path(exists=True),
              help="A model directory from `themekit train`, or its themekit-model.json, "
              "whose card the HTML report shows.")
@click.option("--redact", is_flag=True,
              help="Replace e-mails, phones, links and @handles in the exemplar quotes.")
@click.option("--text-field", default="text", show_default=True, help="Field holding the comment.")
@click.option("--id-field", default="id", show_default=True, help="Field holding the record id.")
def report_command(coded_path, codebook, by, fmt, output, html_path, calibration, model_card,
                   redact, text_field, id_field):
    """Summarise a coded file: shares with 95% Wilson intervals for every code, shares
    within each group of the --by tier, theme co-occurrence, flags, review reasons and
    exemplar quotes. Reads the file in one streaming pass. With --html alone, only the
    HTML file is written.

    \b
    Examples:
      themekit report coded.jsonl
      themekit report coded.jsonl --by experience --redact
      themekit report coded.jsonl --by source
      themekit report coded.jsonl --by created_at:month
      themekit report coded.jsonl --format markdown -o report.md
      themekit report coded.jsonl --format json -o report.json
      themekit report coded.jsonl --html report.html --redact --model-card models/mh/themekit-model.json
      themekit evaluate coded.jsonl gold.jsonl --json eval.json
      themekit report coded.jsonl --calibration eval.json
    """
    from themekit.analysis.report import build_report, write_report

    if model_card and not html_path:
        raise click.UsageError("--model-card is shown in the HTML report; add --html FILE")
    printed = output or ("-" if fmt or not html_path else None)
    refuse_overwriting({"report": printed, "--html file": html_path},
                       {"coded file": coded_path, "--calibration file": calibration,
                        "--model-card file": model_card, **_codebook_files(codebook)})
    result = build_report(coded_path, codebook=codebook, by=by, redact=redact,
                          text_field=text_field, id_field=id_field, calibration=calibration)
    if html_path:
        from themekit.analysis.html_report import write_html

        write_html(result, html_path, model_card)
        err_console.print(f"html report → {html_path}", highlight=False)
    if fmt or output or not html_path:
        write_report(result, fmt or "table", output, out_console)


@main.command("evaluate")
@click.argument("coded_path", metavar="CODED", type=click.Path(exists=True, dir_okay=False))
@click.argument("gold_path", metavar="GOLD", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Also write every metric, with tp/fp/fn/tn per code, to this JSON file.")
@click.option("--id-field", default="id", show_default=True,
              help="Field holding the id in both files.")
@click.option("--codebook", "-c", default=None,
              help="Codebook name or YAML path (default: the one named in the records).")
@click.option("--compare", "others", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Another coded file to score beside CODED (repeatable): one side-by-side "
              "table of macro-F1 and kappa per tier.")
def evaluate_command(coded_path, gold_path, json_path, id_field, codebook, others):
    """Score a coded file against hand-coded GOLD labels, matched by id: precision, recall,
    F1 and support per code; accuracy, macro-F1 and Cohen's kappa per tier (and for flags
    when the gold has them). Only ids present in both files are scored.

    \b
    Examples:
      themekit evaluate coded.jsonl gold.jsonl
      themekit evaluate coded.jsonl gold.jsonl --json eval.json
      themekit evaluate rules.jsonl gold.jsonl --compare model-only.jsonl --compare both.jsonl
    """
    from themekit.analysis.evaluate import (compare_files, evaluate_files, render_comparison,
                                   render_rich, write_comparison_json, write_json)

    refuse_overwriting({"table": "-", "--json file": json_path},
                       {"coded file": coded_path, "gold file": gold_path,
                        **_numbered("--compare file", others), **_codebook_files(codebook)})

    if others:
        results = compare_files([coded_path, *others], gold_path, id_field, codebook)
        out_console.print(render_comparison(results))
        if json_path:
            write_comparison_json(results, json_path)
            err_console.print(f"metrics → {json_path}", highlight=False)
        return
    result = evaluate_files(coded_path, gold_path, id_field=id_field, codebook=codebook)
    out_console.print(render_rich(result))
    if json_path:
        write_json(result, json_path)
        err_console.print(f"metrics → {json_path}", highlight=False)


@main.group()
def codebook() -> None:
    """Check, show, list, lint and export codebooks (a registered name or a YAML path).

    \b
    Examples:
      themekit codebook list
      themekit codebook check my-codebook.yaml
      themekit codebook show llm-mental-health
      themekit codebook lint llm-mental-health examples/comments.jsonl
      themekit codebook export llm-mental-health --format qdc -o llm-mental-health.qdc
    """


@codebook.command("check")
@click.argument("path")
def codebook_check(path):
    """Validate a codebook file (or registered name); exit 1 listing every problem.

    \b
    Example:
      themekit codebook check codebooks/llm-mental-health.yaml
    """
    book = load_codebook(path)
    n_patterns = sum(1 for _ in book.patterns())
    out_console.print(
        f"[green]ok[/] {book.ref}: {len(book.tiers)} tiers, {len(book.codes)} codes, "
        f"{n_patterns} patterns, {len(book.rules)} rules, {len(book.detectors)} detectors"
    )


@codebook.command("lint")
@click.argument("path", metavar="CODEBOOK")
@click.argument("corpus", metavar="CORPUS",
                type=click.Path(exists=True, allow_dash=True, dir_okay=False))
@click.option("--coded", "coded_path", type=click.Path(exists=True, dir_okay=False),
              help="Hand-coded sheet or gold file (JSONL, or CSV by extension): adds each "
              "pattern's precision and the codes' recall misses. Items without a text take it "
              "from CORPUS by id.")
@click.option("--broad", default=0.05, show_default=True,
              type=click.FloatRange(0, 1, min_open=True),
              help="A pattern firing on more than this share of CORPUS is too broad.")
@click.option("--overlap", default=0.8, show_default=True,
              type=click.FloatRange(0, 1, min_open=True),
              help="Two patterns of one code overlap when the Jaccard index of the comments "
              "they fire on is at least this.")
@click.option("--snippets", default=3, show_default=True, type=click.IntRange(min=0),
              help="Matches in context shown per pattern.")
@click.option("--format", "out_fmt", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True, help="Output format.")
@click.option("--output", "-o", default="-", show_default=True,
              type=click.Path(allow_dash=True, dir_okay=False),
              help="File to write ('-' for stdout).")
@click.option("--input-format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]),
              help="CORPUS format (default: .csv is CSV, .parquet or a file starting like one "
              "Parquet, anything else JSONL).")
@click.option("--text-field", default="text", show_default=True, help="Field holding the comment.")
@click.option("--id-field", default="id", show_default=True, help="Field holding the record id.")
def codebook_lint(path, corpus, coded_path, broad, overlap, snippets, out_fmt, output, fmt,
                  text_field, id_field):
    """Show how each keyword pattern of CODEBOOK behaves on CORPUS (JSONL or CSV): the
    comments it fires on and their share, matches in context, and patterns that never
    fire, are too broad, only ever match one short token (<= 2 characters) or fire on
    mostly the same comments as another pattern of the same code. With --coded: each
    pattern's precision against the hand codes (for a negative-weight veto: the share
    without the code) and, per code, hand-coded comments no pattern of the code finds.

    \b
    Examples:
      themekit codebook lint llm-mental-health examples/comments.jsonl
      themekit codebook lint my-codebook.yaml comments.jsonl --broad 0.1 --snippets 1
      themekit codebook lint llm-mental-health comments-10k.jsonl --coded my-coded-sheet.jsonl
      themekit codebook lint my-codebook.yaml comments.csv --format markdown -o lint.md
    """

    from themekit.codebook.lint import lint_codebook, load_lint_codebook, write_lint

    refuse_overwriting({"output": output},
                       {"corpus": corpus, "--coded file": coded_path, **_codebook_files(path)})
    book = load_lint_codebook(path)
    with progress_bar("linting", count_lines(corpus)) as advance:
        result = lint_codebook(book, corpus, coded=coded_path, broad=broad, overlap=overlap,
                               snippets=snippets, text_field=text_field, id_field=id_field,
                               fmt=fmt, on_record=advance)
    for bad in result.bad[:5]:
        err_console.print(Text.assemble(("rejected ", "yellow"), bad.describe()),
                          highlight=False, soft_wrap=True)
    if len(result.bad) > 5:
        err_console.print(f"[yellow]rejected[/] … and {len(result.bad) - 5} more",
                          highlight=False)
    if result.coded is not None and result.coded.not_in_corpus:
        missing = result.coded.not_in_corpus
        err_console.print(
            Text.assemble(("warning: ", "yellow"),
                          f"{coded_path}: {len(missing)} id(s) have no text and are not in "
                          f"{corpus}, left out: {', '.join(missing[:5])}"
                          + (" …" if len(missing) > 5 else "")),
            highlight=False, soft_wrap=True)
    write_lint(result, out_fmt, output, out_console)
    if output != "-":
        err_console.print(f"lint of {len(result.patterns)} patterns on {result.comments} "
                          f"comments → {output}", highlight=False, markup=False, soft_wrap=True)


@codebook.command("show")
@click.argument("path", default="llm-mental-health")
def codebook_show(path):
    """Draw a codebook's tiers and codes as a tree, with definitions.

    \b
    Example:
      themekit codebook show llm-mental-health
    """
    out_console.print(codebook_tree(load_codebook(path)))


def codebook_tree(book: Codebook) -> Tree:
    tree = Tree(f"[bold]{escape(book.ref)}[/]  {escape(book.description)}")
    for tier in book.tiers:
        rule = "exactly one" if tier.kind == "exclusive" else "zero or more"
        default = f", default [italic]{escape(tier.default)}[/]" if tier.default else ""
        branch = tree.add(f"[bold cyan]{escape(tier.id)}[/] ({escape(tier.label)}: {rule}"
                          f"{default})")
        nodes = {}
        for code_id in tier.codes:
            code = book.codes[code_id]
            parent = nodes.get(code.parent, branch)
            extra = f"  [dim]requires {escape(str(dict(code.requires)))}[/]" if code.requires \
                else ""
            examples = "".join(f"\n  [italic]e.g. {escape(example)}[/]"
                               for example in code.examples)
            label = f" {escape(code.label)}" if code.label != code.id else ""
            nodes[code.id] = parent.add(
                f"[bold]{escape(code.id)}[/]{label}: "
                f"[dim]{escape(code.definition)}[/] "
                f"[magenta]({len(code.patterns)} patterns)[/]{extra}{examples}"
            )
    return tree


@codebook.command("list")
def codebook_list():
    """List codebooks registered by name (built-in and from plugins).

    \b
    Examples:
      themekit codebook list
      themekit codebook show llm-mental-health
    """
    table = Table("name", "file", "description")
    for name, entry in sorted(registered_codebooks().items()):
        table.add_row(name, str(entry.path),
                      escape(textwrap.shorten(entry.description, 80, placeholder=" …")))
    out_console.print(table)


@main.command()
def plugins():
    """List loaded plugins (name, package, version, hooks) and what they register: the
    codebooks, detectors, tier rules and evidence sources a codebook can name.

    Set THEMEKIT_LOAD_PLUGINS=name1,name2 to load only those third-party plugins
    (an empty value loads none); built-in plugins always load.

    \b
    Examples:
      themekit plugins
      THEMEKIT_LOAD_PLUGINS= themekit plugins      # built-ins only
    """
    from themekit.plugins import describe_plugins, describe_registered

    table = Table("plugin", "package", "version", "hooks")
    for row in describe_plugins():
        name = row["name"] + (" [dim](built-in)[/]" if row["builtin"] else "")
        table.add_row(name, row["package"], row["version"], ", ".join(row["hooks"]))
    out_console.print(table)
    registered = Table("registered", "name", "description")
    for kind, name, description in describe_registered():
        registered.add_row(kind, escape(name), escape(" ".join(description.split())))
    out_console.print(registered)


@main.command("sample")
@click.argument("corpus", metavar="CORPUS", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("-n", "size", required=True, type=int, help="How many comments to draw.")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False),
              help="Coding sheet to write (CSV if it ends in .csv, else JSONL).")
@click.option("--seed", default=0, show_default=True, help="Seed: the same seed draws the same ids.")
@click.option("--by", help="Stratify by this field: proportional, at least one per value.")
@click.option("--keep-fields", help="Fields of the corpus records to keep in the sheet, "
              "comma-separated (default: every field, the coder's context and the stratum; "
              "'' for none).")
@click.option("--exclude", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Sheet, gold or coded file (JSONL, or CSV by extension) or id list (.txt, "
              "one id a line) whose ids are left out (already coded, held out). Repeatable.")
@click.option("--match", help="Draw only among comments whose text this regular expression "
              "finds (case-insensitive): enrich a sample for rare codes.")
@click.option("--model", "-m", type=click.Path(exists=True, file_okay=False),
              help="Trained model: draw the comments whose code scores sit nearest their "
              "thresholds (uncertainty sampling) instead of random ones.")
@codebook_option
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]),
              help="Input format (default: .csv is CSV, .parquet or a file starting like one "
              "Parquet, anything else JSONL).")
@click.option("--text-field", default="text", show_default=True, help="Field holding the comment.")
@click.option("--id-field", default="id", show_default=True, help="Field holding the record id.")
def sample_command(corpus, size, output, seed, by, keep_fields, exclude, match, model, codebook,
                   fmt, text_field, id_field):
    """Draw N comments from CORPUS into a coding sheet for `themekit code`.

    The draw is reproducible: a comment's place in the order is a hash of the seed and its
    id. Bad records are reported, never silently lost. Uncertainty sampling needs --model:
    rule scores are hand-set pattern weights, not uncertainties.

    \b
    Examples:
      themekit sample comments.jsonl -n 200 -o sheet.jsonl
      themekit sample comments.jsonl -n 200 -o sheet.csv --by source --seed 7
      themekit sample comments.jsonl -n 200 -o sheet.jsonl --keep-fields source,rating
      themekit sample comments.jsonl -n 100 -o round2.jsonl --exclude sheet.jsonl
      themekit sample comments.jsonl -n 50 -o privacy.jsonl --match "privacy|my data|sold"
      themekit sample comments.jsonl -n 100 -o hard.jsonl --model models/mh --exclude gold.jsonl
    """

    from themekit.nlp.pipeline import build_pipeline
    from themekit.handcoding.sample import draw_sample
    from themekit.io.sheets import write_sheet

    refuse_overwriting({"output": output},
                       {"corpus": corpus, **_numbered("--exclude file", exclude),
                        **_codebook_files(codebook)})
    book = load_codebook(codebook)
    nlp = build_pipeline(book, model) if model else None
    with progress_bar("scoring", None) if nlp else _no_progress() as advance:
        keep = None if keep_fields is None else [f.strip() for f in keep_fields.split(",")
                                                  if f.strip()]
        result = draw_sample(corpus, size, book, seed=seed, by=by, exclude=exclude,
                             match=match, nlp=nlp, keep_fields=keep,
                             fmt=fmt, text_field=text_field, id_field=id_field, on_record=advance)
    write_sheet(output, result.items, book)
    for bad in result.bad[:5]:
        err_console.print(Text.assemble(("rejected ", "yellow"), bad.describe()),
                          highlight=False, soft_wrap=True)
    if len(result.bad) > 5:
        err_console.print(f"[yellow]rejected[/] … and {len(result.bad) - 5} more",
                          highlight=False)
    for stratum, (available, drawn) in result.strata.items():
        err_console.print(f"  {by} = {stratum}: {drawn} of {available}", highlight=False,
                          markup=False)
    if result.margins:
        values = sorted(result.margins.values())
        err_console.print(f"  distance to the nearest threshold: {values[0]:.3f} to "
                          f"{values[-1]:.3f}", highlight=False)
    err_console.print(
        f"drew {len(result.items)} of {result.pool} comments (seed {seed}"
        + (", by uncertainty" if nlp else "") + f") · excluded {result.excluded}"
        + (f" · not matching --match {result.unmatched}" if match is not None else "")
        + f" · rejected {len(result.bad)} → {output}",
        highlight=False, markup=False, soft_wrap=True,
    )


def _codebook_files(codebook: str | None) -> dict[str, str]:
    """The codebook files an output must not replace: the one given by name or path, and
    every registered one (the shipped codebooks among them)."""
    files = {f"codebook {name}": str(entry.path)
             for name, entry in registered_codebooks().items()}
    if codebook is not None:
        files["codebook"] = str(find_codebook_path(codebook))
    return files


def _numbered(role: str, paths: tuple[str, ...]) -> dict[str, str]:
    """Roles for a repeatable option's files: "sheet 1", "sheet 2", ..."""
    return {f"{role} {i}": path for i, path in enumerate(paths, start=1)}


@contextmanager
def _no_progress() -> Iterator[callable]:
    yield lambda: None


@main.command("code")
@click.argument("sheet", metavar="SHEET", type=click.Path(exists=True, dir_okay=False))
@click.option("--coder", required=True, help="Your name, recorded on every item you save.")
@codebook_option
def code_command(sheet, coder, codebook):
    """Code a SHEET interactively in the terminal, one comment at a time.

    Number keys pick a code in the highlighted tier (toggle in multi tiers and flags),
    Tab or the arrow keys change tier, n saves and goes on, b goes back, s skips, q quits.
    Every save rewrites the sheet atomically; a new run resumes at the first uncoded item.

    \b
    Examples:
      themekit code sheet.jsonl --coder alice
      themekit code disagreements.jsonl --coder adjudicator
    """
    from themekit.handcoding.coder import run_coder

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise click.UsageError("`themekit code` is interactive: run it in a terminal")
    run_coder(sheet, load_codebook(codebook), coder, console=out_console)


@main.command("agreement")
@click.argument("sheets", metavar="SHEET SHEET [SHEET ...]", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False))
@codebook_option
@click.option("--bootstrap", default=1000, show_default=True,
              help="Bootstrap resamples for the 95% intervals (0: no intervals).")
@click.option("--seed", default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--disagreements", "disagreements_path", type=click.Path(dir_okay=False),
              help="Write the items the coders differ on as a sheet for adjudication.")
@click.option("--texts", "texts_path", type=click.Path(exists=True, dir_okay=False),
              help="Corpus (JSONL/CSV with id and text) that fills in the comment text of the "
              "--disagreements sheet when the coders' sheets carry none.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Also write every figure to this JSON file.")
def agreement_command(sheets, codebook, bootstrap, seed, disagreements_path, texts_path,
                      json_path):
    """Inter-coder agreement between coding sheets (one coder each), per tier and per code:
    percent agreement, Cohen's kappa (two coders) and Krippendorff's alpha (nominal, any
    number of coders), each with a 95% bootstrap interval over items.

    Items coded by fewer than two coders are dropped and counted. Multi-tier codes count
    as 0/1 variables, parents derived from their children.

    \b
    Examples:
      themekit agreement alice.jsonl bob.jsonl
      themekit agreement a.jsonl b.jsonl c.jsonl --json agreement.json
      themekit agreement alice.jsonl bob.jsonl --disagreements adjudicate.jsonl
      themekit agreement gold-a.jsonl gold-b.jsonl --disagreements adj.jsonl --texts corpus.jsonl
    """
    from themekit.analysis.agreement import (
        agreement_table,
        measure_agreement,
        write_adjudication_sheet,
        write_json,
    )

    refuse_overwriting({"table": "-", "--disagreements sheet": disagreements_path,
                        "--json file": json_path},
                       {**_numbered("sheet", sheets), "--texts corpus": texts_path,
                        **_codebook_files(codebook)})
    book = load_codebook(codebook)
    result, codings = measure_agreement(list(sheets), book, n_bootstrap=bootstrap, seed=seed)
    # piped or captured output is not cut to 80 columns: the intervals stay on one line
    console = out_console if out_console.is_terminal else Console(width=140)
    console.print(agreement_table(result))
    for coder in result.coders:
        err_console.print(f"  {coder}: {result.coded[coder]} coded of {result.rows_read[coder]}"
                          " rows", highlight=False, markup=False, soft_wrap=True)
    for pair, shared in result.pairs.items():
        err_console.print(f"  {pair}: {shared} items coded by both", highlight=False,
                          markup=False)
    err_console.print(f"{result.items} items coded by anyone · {result.disagreements} with a "
                      "disagreement in at least one tier or flag",
                      highlight=False, markup=False, soft_wrap=True)
    if disagreements_path:
        count = write_adjudication_sheet(disagreements_path, codings, book, texts_path)
        err_console.print(f"{count} items to adjudicate → {disagreements_path}",
                          highlight=False, markup=False, soft_wrap=True)
    if json_path:
        write_json(result, json_path)
        err_console.print(f"figures → {json_path}", highlight=False, markup=False, soft_wrap=True)


@main.command("export")
@click.argument("coded_path", metavar="CODED", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["csv-matrix", "training"]),
              default="csv-matrix", show_default=True,
              help="csv-matrix: one row per comment, 0/1 per code. training: the coded items "
              "as `themekit train` input (id, text, codes per tier, flags).")
@click.option("--output", "-o", required=True, type=click.Path(allow_dash=True, dir_okay=False),
              help="File to write ('-' for stdout).")
@codebook_option
@click.option("--id-field", default="id", show_default=True,
              help="Field holding the record id (as given to annotate).")
def export_command(coded_path, fmt, output, codebook, id_field):
    """Export a coded file (from annotate), a gold file or a coding sheet. csv-matrix is
    for statistics software: id, a 0/1 column per code (parents included), a column per
    exclusive tier with its code, and a 0/1 column per privacy flag; no text is written.
    training turns a hand-coded sheet into training data for `themekit train`.

    \b
    Examples:
      themekit export coded.jsonl --format csv-matrix -o matrix.csv
      themekit export coded.jsonl -o matrix.csv --id-field post_id
      themekit export sheet.jsonl -o coded-by-hand.csv
      themekit export adjudicated.jsonl --format training -o train.jsonl
    """
    from themekit.io.export import export_matrix, export_training

    refuse_overwriting({"output": output},
                       {"coded file": coded_path, **_codebook_files(codebook)})
    book = load_codebook(codebook)
    if fmt == "training":
        summary = export_training(coded_path, book, output, id_field)
    else:
        summary = export_matrix(coded_path, book, output, id_field)
    shape = f" × {summary.columns} columns" if summary.columns else ""
    err_console.print(
        f"{summary.rows} rows{shape} → {output}"
        + (f" ({summary.skipped} uncoded items left out)" if summary.skipped else ""),
        highlight=False, markup=False, soft_wrap=True,
    )


@codebook.command("export")
@click.argument("path", metavar="CODEBOOK")
@click.option("--format", "fmt", type=click.Choice(["qdc"]), default="qdc", show_default=True,
              help="qdc: REFI-QDA Codebook XML, read by ATLAS.ti, MAXQDA, NVivo, QualCoder.")
@click.option("--output", "-o", required=True, type=click.Path(allow_dash=True, dir_okay=False),
              help="File to write, e.g. codebook.qdc ('-' for stdout).")
def codebook_export(path, fmt, output):
    """Export a codebook (file or registered name) for QDA software: tiers become
    top-level codes that cannot be coded, parents nest their children, definitions go
    into Description, and GUIDs are stable across exports.

    \b
    Example:
      themekit codebook export llm-mental-health --format qdc -o llm-mental-health.qdc
    """
    from themekit.io.export import write_qdc

    refuse_overwriting({"output": output}, _codebook_files(path))
    book = load_codebook(path)
    write_qdc(book, output)
    err_console.print(f"{book.ref}: {len(book.tiers)} tiers, {len(book.codes)} codes → {output}",
                      highlight=False, markup=False, soft_wrap=True)
