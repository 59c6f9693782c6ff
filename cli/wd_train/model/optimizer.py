"""keras_bert's AdamWarmup, made to run on TF 2.21 + tf-keras. The compatibility shim lives here
and only here:
- keras_bert 0.89's TF2 `AdamWarmup` subclasses `tf.keras.optimizers.Optimizer`, which since
  TF 2.11 is the *new* optimizer (no `_set_hyper`), so construction fails. Its code is written
  for the legacy `OptimizerV2`; rebasing the class onto `tf.keras.optimizers.legacy.Optimizer`
  makes it train, save and reload unchanged.
- Its TF2 version ignores `weight_decay_pattern` and decays every weight. `PatternAdamWarmup`
  restores the documented meaning (decay only weights whose name contains one of the patterns)
  by switching decay off, at trace time, for the other variables — keras_bert's update rule itself
  is untouched.
- `lr_multipliers` scale a variable's whole schedule (its learning_rate and min_lr, read while
  keras_bert builds that variable's update): a CRF or BiLSTM head learns from scratch, and at
  BERT's fine-tuning rate its transitions barely move (bert4keras' `lr_multiplier` for the same
  reason).
- `decay_from: warmup_end` and the cosine decay rescale the base rate AdamWarmup reads after
  warmup (the formulas are in `schedule.py`); its update rule is untouched.
- The fused update (`make_apply_gradients(..., fused=True)`) compiles `apply_gradients` alone
  with XLA: keras_bert writes the update as separate element-wise ops, each a pass over all the
  parameters and both moments; XLA fuses them into one or two. The math is AdamWarmup's, with
  two differences of float32 reassociation only: the embedding table's sparse gradient is summed
  into a dense one first (as the sparse path's de-duplication sums it; rows without a gradient
  get the dense path's `β·m + (1 − β)·0`, the sparse path's `β·m`), and the global clip is
  computed outside, from the gradients as given (an IndexedSlices' values, as the legacy
  optimizer computes it), and multiplied in inside.
"""

from __future__ import annotations

import math

from ..config import OptimizerConfig
from .schedule import Schedule, after_warmup_scale

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
    """keras_bert's AdamWarmup (rebased) with `weight_decay_pattern` honoured and an optional
    decay measured from the end of warmup."""
    import tensorflow as tf

    adam_warmup = _rebase_adam_warmup()

    class PatternAdamWarmup(adam_warmup):
        def __init__(self, decay_steps, warmup_steps, *args, decay_from="start",
                     decay_shape="linear", lr_multipliers=None, **kwargs):
            super().__init__(decay_steps, warmup_steps, *args, **kwargs)
            self.decay_from = decay_from
            # variable name → factor on its whole schedule (lr and min_lr), read at trace time
            self.lr_multipliers = dict(lr_multipliers or {})
            self._multiplier = 1.0
            self.decay_shape = decay_shape  # (`decay` is the legacy optimizer's own)
            self._after_warmup_scale = after_warmup_scale(float(warmup_steps), float(decay_steps))
            self._clip_scale = None  # the fused update's global clip factor, while it traces

        def _transform_gradients(self, grads_and_vars):
            if self._clip_scale is None:
                return super()._transform_gradients(grads_and_vars)
            # the fused update: the factor clip_by_global_norm would have applied, computed
            # from the gradients before their sparse parts were made dense
            return [(gradient * self._clip_scale, var) for gradient, var in grads_and_vars]

        def get_config(self):
            return {**super().get_config(), "decay_from": self.decay_from,
                    "decay_shape": self.decay_shape, "lr_multipliers": self.lr_multipliers}

        def _decayed_lr(self, var_dtype):
            # keras_bert reads its base rate here, then applies its warmup/decay formula to it.
            lr = super()._decayed_lr(var_dtype)
            if self.decay_shape == "cosine":
                return self._cosine_base(lr, var_dtype)
            if self.decay_from != "warmup_end":
                return lr
            warmup = self._get_hyper("warmup_steps", var_dtype)
            min_lr = self._get_hyper("min_lr", var_dtype)
            rescaled = min_lr + (lr - min_lr) * self._after_warmup_scale
            return tf.where(tf.cast(self.iterations + 1, var_dtype) <= warmup, lr, rescaled)

        def _cosine_base(self, lr, var_dtype):
            # the base rate for which keras_bert's linear formula, min_lr + (base − min_lr) ·
            # (1 − t / decay_steps), equals the cosine target; from the last step on its formula
            # gives min_lr whatever the base (and so does the cosine)
            t = tf.cast(self.iterations + 1, var_dtype)
            warmup = self._get_hyper("warmup_steps", var_dtype)
            decay_steps = self._get_hyper("decay_steps", var_dtype)
            min_lr = self._get_hyper("min_lr", var_dtype)
            progress = tf.clip_by_value((t - warmup) / tf.maximum(decay_steps - warmup, 1.0),
                                        0.0, 1.0)
            target = min_lr + (lr - min_lr) * 0.5 * (1.0 + tf.cos(math.pi * progress))
            linear = 1.0 - tf.minimum(t, decay_steps) / decay_steps
            safe = tf.where(linear > 0.0, linear, tf.ones_like(linear))
            base = tf.where(linear > 0.0, min_lr + (target - min_lr) / safe, lr)
            return tf.where(t <= warmup, lr, base)

        def _get_hyper(self, name, dtype=None):
            value = super()._get_hyper(name, dtype)
            if self._multiplier != 1.0 and name in ("learning_rate", "min_lr"):
                return value * self._multiplier
            return value

        def _scaled(self, apply, var, *args):
            # keras_bert reads learning_rate and min_lr while it builds the variable's update:
            # scaling both scales that variable's whole schedule, warmup and decay alike
            self._multiplier = self.lr_multipliers.get(var.name, 1.0)
            try:
                return apply(*args)
            finally:
                self._multiplier = 1.0

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
                return self._scaled(super()._resource_apply_dense, var, grad, var)
            return self._scaled(self._without_decay, var, super()._resource_apply_dense, grad,
                                var)

        def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
            if self._decays(var):
                return self._scaled(super()._resource_apply_sparse, var, grad, var, indices)
            return self._scaled(self._without_decay, var, super()._resource_apply_sparse, grad,
                                var, indices)

    PatternAdamWarmup.__name__ = "AdamWarmup"
    return PatternAdamWarmup


def decayed_weight_names(variables) -> list[str]:
    """BERT's recipe: decay weight matrices and embeddings, not biases or LayerNorm (rank 1)."""
    return [v.name for v in variables if len(v.shape) >= 2]


def build_optimizer(config: OptimizerConfig, schedule: Schedule, variables,
                    loss_scaling: bool = False, lr_multipliers: dict[str, float] | None = None):
    """keras_bert's AdamWarmup for `schedule`, with clipping and weight decay from `config`;
    `loss_scaling` (float16) wraps it in Keras' dynamic LossScaleOptimizer, which skips a step
    whose gradients overflow without calling AdamWarmup, so the schedule does not advance.
    `lr_multipliers` (variable name → factor) scale some variables' whole schedule."""
    optimizer_class = adam_warmup_class()
    pattern = None if config.decay_all_weights else decayed_weight_names(variables)
    extra = {"global_clipnorm": config.clipnorm} if config.clipnorm else {}
    optimizer = optimizer_class(
        decay_steps=schedule.decay_steps,
        warmup_steps=schedule.warmup_steps,
        min_lr=schedule.min_lr,
        learning_rate=schedule.learning_rate,
        epsilon=config.epsilon,
        weight_decay=config.weight_decay,
        weight_decay_pattern=pattern,
        decay_from=schedule.decay_from,
        decay_shape=schedule.decay,
        lr_multipliers=lr_multipliers,
        **extra,
    )
    if loss_scaling:
        import tensorflow as tf

        return tf.keras.mixed_precision.LossScaleOptimizer(optimizer)
    return optimizer


def _global_clip_scale(gradients, clipnorm: float):
    """The factor `tf.clip_by_global_norm` multiplies every gradient by (NaN when the norm is
    not finite), its norm taken as it takes it: an IndexedSlices' values as they are."""
    import tensorflow as tf

    norm = tf.linalg.global_norm([g for g in gradients if g is not None])
    scale = clipnorm * tf.minimum(1.0 / norm, 1.0 / clipnorm)
    return scale + (norm - norm)


def make_apply_gradients(optimizer, variables, fused: bool = False):
    """`apply(gradients)` for a step function: the optimizer's update of `variables`. `fused`:
    its apply step alone compiled by XLA (one compilation: parameter shapes are fixed), the
    embedding table's sparse gradient made dense first so that its shape is fixed too. Under
    float16 loss scaling the LossScaleOptimizer's check and skip run inside the compiled step."""
    if not fused:
        def apply(gradients):
            return optimizer.apply_gradients(zip(gradients, variables))
        return apply

    import tensorflow as tf

    inner = getattr(optimizer, "inner_optimizer", optimizer)
    clipnorm = inner.global_clipnorm

    @tf.function(jit_compile=True)
    def fused_apply(dense, clip_scale):
        inner._clip_scale = clip_scale  # read while apply_gradients traces, as `_without_decay`
        try:
            optimizer.apply_gradients(zip(dense, variables))
        finally:
            inner._clip_scale = None

    def apply(gradients):
        clip_scale = None if clipnorm is None else _global_clip_scale(gradients, clipnorm)
        dense = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
                 for g in gradients]
        return fused_apply(dense, clip_scale)

    return apply
