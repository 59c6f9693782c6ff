"""keras_bert's AdamWarmup, made to run on TF 2.21 + tf-keras, and the learning-rate schedule.

The compatibility shim lives here and only here:
- keras_bert 0.89's TF2 `AdamWarmup` subclasses `tf.keras.optimizers.Optimizer`, which since
  TF 2.11 is the *new* optimizer (no `_set_hyper`), so construction fails. Its code is written
  for the legacy `OptimizerV2`; rebasing the class onto `tf.keras.optimizers.legacy.Optimizer`
  makes it train, save and reload unchanged.
- Its TF2 version ignores `weight_decay_pattern` and decays every weight. `PatternAdamWarmup`
  restores the documented meaning (decay only weights whose name contains one of the patterns)
  by switching decay off, at trace time, for the other variables — keras_bert's update rule itself
  is untouched.

The schedule (keras_bert's, read from its source): with t = step + 1 (1-based),
    t <= warmup_steps:  lr · t / warmup_steps
    otherwise:          min_lr + (lr − min_lr) · (1 − min(t, decay_steps) / decay_steps)
Note the decay is measured from step 0, not from the end of warmup: right after warmup the rate
drops from lr to lr · (1 − warmup_steps / decay_steps). `schedule_lr` mirrors this formula.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .config import OptimizerConfig


@dataclass(frozen=True)
class Schedule:
    name: str
    learning_rate: float
    warmup_steps: int
    decay_steps: int
    min_lr: float

    def as_dict(self) -> dict:
        return asdict(self)


def make_schedule(config: OptimizerConfig, total_steps: int) -> Schedule:
    """warmup_decay: warm up over a share of the steps, decay to min_lr at the last step.
    constant: the same AdamWarmup with no warmup and min_lr = learning_rate."""
    total_steps = max(1, int(total_steps))
    if config.schedule == "constant":
        return Schedule("constant", config.learning_rate, 0, total_steps, config.learning_rate)
    if config.warmup_steps is not None:
        warmup = min(config.warmup_steps, total_steps)
    else:
        warmup = round(config.warmup_proportion * total_steps)
    return Schedule("warmup_decay", config.learning_rate, warmup, total_steps, config.min_lr)


def schedule_lr(schedule: Schedule, step: int) -> float:
    """Learning rate AdamWarmup applies at 0-based `step` (keras_bert's formula, in Python)."""
    t = step + 1
    if t <= schedule.warmup_steps:
        return schedule.learning_rate * t / schedule.warmup_steps
    progress = min(t, schedule.decay_steps) / schedule.decay_steps
    return schedule.min_lr + (schedule.learning_rate - schedule.min_lr) * (1.0 - progress)


_PATCHED = False


def _rebase_adam_warmup():
    """Point keras_bert's AdamWarmup at the legacy optimizer base class (once)."""
    global _PATCHED
    import tensorflow as tf
    from keras_bert.optimizers import AdamWarmup

    legacy = tf.keras.optimizers.legacy.Optimizer
    if not _PATCHED and AdamWarmup.__bases__ != (legacy,):
        AdamWarmup.__bases__ = (legacy,)
    _PATCHED = True
    return AdamWarmup


def adam_warmup_class():
    """keras_bert's AdamWarmup (rebased) with `weight_decay_pattern` honoured."""
    adam_warmup = _rebase_adam_warmup()

    class PatternAdamWarmup(adam_warmup):
        def _decays(self, var) -> bool:
            patterns = self._weight_decay_pattern
            return patterns is None or any(p in var.name for p in patterns)

        def _without_decay(self, apply, *args):
            saved = self._initial_weight_decay
            self._initial_weight_decay = 0.0  # read by keras_bert's update at trace time
            try:
                return apply(*args)
            finally:
                self._initial_weight_decay = saved

        def _resource_apply_dense(self, grad, var, apply_state=None):
            if self._decays(var):
                return super()._resource_apply_dense(grad, var)
            return self._without_decay(super()._resource_apply_dense, grad, var)

        def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
            if self._decays(var):
                return super()._resource_apply_sparse(grad, var, indices)
            return self._without_decay(super()._resource_apply_sparse, grad, var, indices)

    PatternAdamWarmup.__name__ = "AdamWarmup"
    return PatternAdamWarmup


def decayed_weight_names(variables) -> list[str]:
    """BERT's recipe: decay weight matrices and embeddings, not biases or LayerNorm (rank 1)."""
    return [v.name for v in variables if len(v.shape) >= 2]


def build_optimizer(config: OptimizerConfig, schedule: Schedule, variables):
    """keras_bert's AdamWarmup for `schedule`, with clipping and weight decay from `config`."""
    optimizer_class = adam_warmup_class()
    pattern = None if config.decay_all_weights else decayed_weight_names(variables)
    extra = {"global_clipnorm": config.clipnorm} if config.clipnorm else {}
    return optimizer_class(
        decay_steps=schedule.decay_steps,
        warmup_steps=schedule.warmup_steps,
        min_lr=schedule.min_lr,
        learning_rate=schedule.learning_rate,
        epsilon=config.epsilon,
        weight_decay=config.weight_decay,
        weight_decay_pattern=pattern,
        **extra,
    )
