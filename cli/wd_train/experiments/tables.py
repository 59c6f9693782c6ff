"""The table a single run prints: dev/test P/R/F1 per entity type and micro, plus the facts
needed to read them."""

from __future__ import annotations

from ..evaluation import Scores
from ..run_dir import RunMetrics


def _rows(split: str, scores: Scores) -> list[str]:
    rows = []
    for name, values in sorted(scores.per_type.items()):
        rows.append(f"{split:<5} {name:<10} {values.precision:>9.4f} {values.recall:>9.4f} "
                    f"{values.f1:>9.4f} {values.support:>8d}")
    support = sum(v.support for v in scores.per_type.values())
    rows.append(f"{split:<5} {'micro':<10} {scores.precision:>9.4f} {scores.recall:>9.4f} "
                f"{scores.f1:>9.4f} {support:>8d}")
    return rows


def metrics_table(metrics: RunMetrics) -> str:
    header = f"{'split':<5} {'type':<10} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}"
    lines = [header, "-" * len(header)]
    lines += _rows("dev", metrics.dev)
    if metrics.test:
        lines += _rows("test", metrics.test)
    schedule = metrics.schedule
    lines.append(
        f"best epoch {metrics.best_epoch}/{metrics.epochs_run}, {metrics.steps} steps, "
        f"{schedule.name} lr {schedule.learning_rate:g}, seed {metrics.seed}, "
        f"{metrics.device}, train {metrics.train_seconds:.1f}s "
        f"({metrics.train_tokens_per_s:.0f} tokens/s)"
    )
    invalid = [f"{name} {scores.invalid_sequences}" for name, scores in
               (("dev", metrics.dev), ("test", metrics.test))
               if scores is not None and scores.invalid_sequences is not None]
    if invalid:
        lines.append("sentences whose predicted tags break the tag scheme: "
                     + ", ".join(invalid))
    if metrics.degenerate:
        lines.append("DEGENERATE: no entity predicted on dev (every word O) although the "
                     "training data has entities; these scores measure no learning")
    lines.append(f"run directory: {metrics.run_dir}" if metrics.run_dir else
                 "run directory: none (a multi-worker run's other worker: worker 0 writes it)")
    return "\n".join(lines)
