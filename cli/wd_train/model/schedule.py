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
warmup_steps). `schedule_lr` mirrors all of this; `optimizer.py` hands it to AdamWarmup.
"""

from __future__ import annotations

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

    def as_dict(self) -> dict:
        return self.model_dump()


def make_schedule(config: OptimizerConfig, total_steps: int) -> Schedule:
    """warmup_decay: warm up over a share of the steps, decay to min_lr at the last step.
    constant: the same AdamWarmup with no warmup and min_lr = learning_rate."""
    total_steps = max(1, int(total_steps))
    if config.schedule == "constant":
        return Schedule(name="constant", learning_rate=config.learning_rate, warmup_steps=0,
                        decay_steps=total_steps, min_lr=config.learning_rate)
    if config.warmup_steps is not None:
        if config.warmup_steps > total_steps:  # clamping it would silently drop the decay
            raise WdTrainError(
                f"optimizer.warmup_steps: {config.warmup_steps} is more than the run's "
                f"{total_steps} training steps (training.epochs × batches per epoch); lower it "
                "or use optimizer.warmup_proportion")
        warmup = config.warmup_steps
    else:
        warmup = round(config.warmup_proportion * total_steps)
    return Schedule(name="warmup_decay", learning_rate=config.learning_rate, warmup_steps=warmup,
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
    base = schedule.learning_rate
    if schedule.decay_from == "warmup_end":
        scale = after_warmup_scale(schedule.warmup_steps, schedule.decay_steps)
        base = schedule.min_lr + (base - schedule.min_lr) * scale
    progress = min(t, schedule.decay_steps) / schedule.decay_steps
    return schedule.min_lr + (base - schedule.min_lr) * (1.0 - progress)
