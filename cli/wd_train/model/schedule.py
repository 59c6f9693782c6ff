"""The learning-rate schedule of keras_bert's AdamWarmup, as numbers (no TensorFlow).

keras_bert's formula (read from its source), with t = step + 1 (1-based):
    t <= warmup_steps:  lr · t / warmup_steps
    otherwise:          min_lr + (lr − min_lr) · (1 − min(t, decay_steps) / decay_steps)
Note the decay is measured from step 0, not from the end of warmup: right after warmup the rate
drops from lr to lr · (1 − warmup_steps / decay_steps) (Google's BERT optimizer does the same).
`decay_from: warmup_end` decays from the peak instead (Hugging Face's linear schedule) without
touching keras_bert's formula: after warmup the base rate it reads is rescaled to
    lr' = min_lr + (lr − min_lr) · decay_steps / (decay_steps − warmup_steps)
which turns the formula into min_lr + (lr − min_lr) · (decay_steps − t) / (decay_steps −
warmup_steps). `decay: cosine` (warmup_cosine) likewise rescales the base rate after warmup so
that the formula yields min_lr + (lr − min_lr) · ½ (1 + cos(π · (t − warmup_steps) /
(decay_steps − warmup_steps))), Hugging Face's cosine schedule with warmup. The other schedules
are AdamWarmup's own formula with other arguments: warmup_constant sets min_lr = lr (the decay
is flat), linear_decay sets no warmup, constant both. `schedule_lr` mirrors all of this;
`optimizer.py` hands it to AdamWarmup.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from ..config import OptimizerConfig
from ..errors import WdTrainError


class Schedule(BaseModel):
    """What AdamWarmup is given; recorded in metrics.json and checked when a run resumes."""

    model_config = ConfigDict(frozen=True)

    name: str
    learning_rate: float
    warmup_steps: int
    decay_steps: int
    min_lr: float
    decay_from: str = "start"
    decay: str = "linear"  # or "cosine" (warmup_cosine)

    def as_dict(self) -> dict:
        return self.model_dump()


def make_schedule(config: OptimizerConfig, total_steps: int) -> Schedule:
    """AdamWarmup's arguments for `config.schedule` over `total_steps`: warm up over a share of
    the steps (warmup_* schedules), decay to min_lr at the last step (decaying schedules)."""
    total_steps = max(1, int(total_steps))
    name, lr = config.schedule, config.learning_rate
    if name in ("constant", "linear_decay"):  # no warmup
        return Schedule(name=name, learning_rate=lr, warmup_steps=0, decay_steps=total_steps,
                        min_lr=lr if name == "constant" else config.min_lr)
    if config.warmup_steps is not None:
        if config.warmup_steps > total_steps:  # clamping it would silently drop the decay
            raise WdTrainError(
                f"optimizer.warmup_steps: {config.warmup_steps} is more than the run's "
                f"{total_steps} training steps (training.epochs × batches per epoch); lower it "
                "or use optimizer.warmup_proportion")
        warmup = config.warmup_steps
    else:
        warmup = round(config.warmup_proportion * total_steps)
    if name == "warmup_constant":
        return Schedule(name=name, learning_rate=lr, warmup_steps=warmup,
                        decay_steps=total_steps, min_lr=lr)
    if name == "warmup_cosine":
        return Schedule(name=name, learning_rate=lr, warmup_steps=warmup,
                        decay_steps=total_steps, min_lr=config.min_lr, decay_from="warmup_end",
                        decay="cosine")
    return Schedule(name="warmup_decay", learning_rate=lr, warmup_steps=warmup,
                    decay_steps=total_steps, min_lr=config.min_lr, decay_from=config.decay_from)


def after_warmup_scale(warmup_steps: float, decay_steps: float) -> float:
    """By how much (lr − min_lr) is scaled after warmup so that keras_bert's decay starts at the
    peak (`decay_from: warmup_end`). Past decay_steps its formula gives min_lr whatever the scale."""
    return decay_steps / max(decay_steps - warmup_steps, 1)


def schedule_lr(schedule: Schedule, step: int) -> float:
    """Learning rate AdamWarmup applies at 0-based `step` (the formulas above, in Python)."""
    t = step + 1
    if t <= schedule.warmup_steps:
        return schedule.learning_rate * t / schedule.warmup_steps
    if schedule.decay == "cosine":
        span = max(schedule.decay_steps - schedule.warmup_steps, 1)
        progress = min(1.0, (t - schedule.warmup_steps) / span)
        return schedule.min_lr + (schedule.learning_rate - schedule.min_lr) * 0.5 * (
            1.0 + math.cos(math.pi * progress))
    base = schedule.learning_rate
    if schedule.decay_from == "warmup_end":
        scale = after_warmup_scale(schedule.warmup_steps, schedule.decay_steps)
        base = schedule.min_lr + (base - schedule.min_lr) * scale
    progress = min(t, schedule.decay_steps) / schedule.decay_steps
    return schedule.min_lr + (base - schedule.min_lr) * (1.0 - progress)
