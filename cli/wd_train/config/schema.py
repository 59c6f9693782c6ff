"""The config schema: one validated, typed object (pydantic). Defaults live here and only here;
docs/configuration.md's reference table is generated from it (`reference.py`)."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)


def _literal_values(types: tuple) -> list[str]:
    return [v for t in types if typing.get_origin(t) is Literal for v in typing.get_args(t)]


class Section(BaseModel):
    # inf/nan are never a sensible setting (lr .inf "trains" to NaN and F1 0)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_are_not_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML reads `yes`/`true` as a boolean, which pydantic would take as 1 for an int
        (`training.epochs: yes` trained one epoch): refuse it where no boolean is meant."""
        annotation = cls.model_fields[info.field_name].annotation
        allowed = (annotation, *typing.get_args(annotation))
        if isinstance(value, bool) and bool not in allowed:
            raise ValueError(f"expected a number, not the boolean {str(value).lower()}")
        if bool in allowed and not isinstance(value, bool) and (
                value is not None or type(None) not in allowed) and not (
                isinstance(value, str) and value in _literal_values(allowed)):
            # pydantic would read 1 or "yes" as true (`jit_compile: 1` turned XLA on)
            choices = ["true", "false", *_literal_values(allowed)]
            raise ValueError(f"expected {' or '.join(choices)} (got {value!r:.40})")
        if isinstance(value, list) and any(isinstance(v, bool) for v in value) and not any(
                bool in typing.get_args(a) for a in allowed):  # compare.seeds: [yes, no]
            raise ValueError(f"expected numbers, not booleans (got {value})")
        return value


class DataConfig(Section):
    train: Path = Field(description="Training file (CoNLL columns, or one character per line).")
    dev: Path = Field(description="Dev file: picks the best epoch and drives early stopping.")
    test: Path | None = Field(None, description="Test file, scored once with the best weights.")
    format: Literal["conll", "chars"] = Field(
        "conll",
        description="`conll`: word-level columns. `chars`: one character per line (Chinese); "
        "same reader, tokens are characters.",
    )
    label_column: int = Field(-1, description="Column holding the tag (0-based; -1 = last).")
    scheme: Literal["iob2", "iob1", "bioes"] = Field(
        "iob2", description="Tag scheme of the files. IOB1 is converted to IOB2 on reading."
    )
    on_invalid_tags: Literal["repair", "error", "keep"] = Field(
        "repair",
        description="IOB2 files: an I-X after O or after another type. `repair`: read it as "
        "B-X, as conlleval does, and log how many per file; `error`: refuse the file at that "
        "line; `keep`: read as written (seqeval then counts it as an entity too).",
    )
    max_seq_len: int = Field(
        128, ge=8, le=512,
        description="Max wordpieces per window, [CLS]/[SEP] included. Longer sentences are split "
        "into several windows; every word is still predicted and scored.",
    )
    batching: Literal["bucketed", "random"] = Field(
        "bucketed",
        description="`bucketed`: shuffled, then sorted by length within pools of 50 batches "
        "(little padding). `random`: batches of randomly drawn sentences, as PyTorch's "
        "shuffled DataLoader makes them (more padding; for comparisons with such runs).",
    )
    pad_to_multiple_of: int | None = Field(
        None, ge=1,
        description="Pad each batch's length up to a multiple of this, so that XLA compiles a "
        "few shapes rather than one per length. null: 16 with XLA, 1 (no rounding) without.",
    )
    length_buckets: int | None = Field(
        None, ge=1, le=64,
        description="With XLA (training.jit_compile): pad every batch to one of at most this "
        "many widths (e.g. 8), chosen from the run's own seeded batches to waste the least "
        "padding, instead of to multiples of pad_to_multiple_of; the log gives the widths, the "
        "padding efficiency (real / padded tokens) and the shapes compiled. Evaluation uses "
        "the same widths (a longer batch rounds up to a multiple of 16). null: multiples of "
        "pad_to_multiple_of. Without XLA a batch is padded to its own longest window anyway.",
    )
    encoding: str = Field(
        "utf-8", description="Text encoding of the data files (a UTF-8 byte-order mark is "
        "skipped).")
    limit: int | None = Field(
        None, ge=1, description="Use only the first N sentences of each file (quick runs)."
    )


    @model_validator(mode="after")
    def _one_padding_rule(self) -> DataConfig:
        if self.length_buckets is not None and self.pad_to_multiple_of is not None:
            raise ValueError("set data.length_buckets or data.pad_to_multiple_of, not both")
        return self


class RandomInit(Section):
    layers: int = Field(2, ge=1, description="Transformer layers.")
    hidden: int = Field(64, ge=8, description="Hidden size.")
    heads: int = Field(2, ge=1, description="Attention heads (must divide hidden).")
    feed_forward: int | None = Field(None, ge=8, description="FFN size (default 4 × hidden).")
    max_position: int = Field(512, ge=8, description="Position embeddings.")

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> RandomInit:
        if self.hidden % self.heads:
            raise ValueError(f"heads ({self.heads}) must divide hidden ({self.hidden})")
        return self


class ModelConfig(Section):
    checkpoint: Path | None = Field(
        None,
        description="Google-format BERT directory (bert_config.json, bert_model.ckpt.*, "
        "vocab.txt), e.g. one written by `wd-train import-hf`.",
    )
    random_init: RandomInit | None = Field(
        None, description="Instead of a checkpoint: a randomly initialised BERT (tests)."
    )
    vocab: Path | None = Field(
        None, description="vocab.txt; default: the checkpoint's. Required with random_init."
    )
    lowercase: bool | None = Field(
        None,
        description="Lower-case and strip accents before wordpiece. Default: from the "
        "checkpoint's wd_train.json (written by import-hf), else guessed from the vocab.",
    )
    head_dropout: float = Field(0.1, ge=0.0, lt=1.0, description="Dropout before the tag layer.")
    head: Literal["softmax", "crf", "bilstm_crf"] = Field(
        "softmax",
        description="`softmax`: a tag per word from its first piece's logits. `crf`: a "
        "linear-chain CRF over the words (learned transitions; trained by its log-likelihood, "
        "decoded by Viterbi). `bilstm_crf`: a BiLSTM (model.lstm_units per direction) between "
        "BERT and the CRF, as in the article's BERT-BiLSTM-CRF.",
    )
    lstm_units: int = Field(128, ge=1, description="BiLSTM units per direction (bilstm_crf).")
    activation: Literal["auto", "gelu_tanh", "gelu_erf"] = Field(
        "gelu_tanh",
        description="The backbone's GELU and LayerNorm epsilon. `gelu_tanh`: keras_bert as it "
        "is (tanh approximation, epsilon 1e-14). `gelu_erf`: exact GELU with the checkpoint's "
        "epsilon (layer_norm_eps recorded by import-hf, else BERT's 1e-12), as Hugging Face "
        "BERT models were trained. `auto`: what the checkpoint was trained with (import-hf "
        "records HF's hidden_act; a Google checkpoint is taken as Google's TF BERT: tanh, "
        "1e-12).",
    )
    constrained_decoding: bool = Field(
        False,
        description="Decode only tag sequences valid in data.scheme (IOB2: no I-X after O or "
        "after another type; BIOES likewise): Viterbi with the scheme's transitions, over the "
        "CRF's scores or the softmax's log-probabilities. metrics.json counts the invalid "
        "sequences of every split either way.",
    )
    attention_dropout: float = Field(
        0.0, ge=0.0, lt=1.0,
        description="Dropout on the attention probabilities while training (BERT's "
        "attention_probs_dropout_prob, 0.1 in its recipe). keras_bert has none and ignores the "
        "checkpoint's value, so 0 is keras_bert as it is.",
    )

    @model_validator(mode="after")
    def _one_backbone(self) -> ModelConfig:
        if (self.checkpoint is None) == (self.random_init is None):
            raise ValueError("set exactly one of model.checkpoint or model.random_init")
        if self.random_init is not None and self.vocab is None:
            raise ValueError("model.random_init needs model.vocab")
        return self


DECAYING_SCHEDULES = ("warmup_decay", "warmup_cosine", "linear_decay")


class HeadMultipliers(Section):
    bilstm: float | None = Field(None, gt=0, description="The BiLSTM's factor (default: "
                                 "head_lr_multiplier).")
    emission: float | None = Field(None, gt=0, description="The emission layer's factor "
                                   "(default: head_lr_multiplier after a BiLSTM, 1 on BERT's "
                                   "output).")
    crf: float | None = Field(None, gt=0, description="The CRF's factor (default: "
                              "head_lr_multiplier).")


class OptimizerConfig(Section):
    learning_rate: float = Field(5e-5, gt=0, description="Peak learning rate.")
    schedule: Literal["warmup_decay", "warmup_cosine", "warmup_constant", "linear_decay",
                      "constant"] = Field(
        "warmup_decay",
        description="All on keras_bert's AdamWarmup. `warmup_decay`: linear warmup to "
        "learning_rate, then linear decay to min_lr at the last step (see decay_from). "
        "`warmup_cosine`: linear warmup, then cosine decay from the peak to min_lr. "
        "`warmup_constant`: linear warmup, then learning_rate (warmup alone). `linear_decay`: "
        "no warmup, linear decay to min_lr (decay alone). `constant`: no warmup, no decay.",
    )
    decay_from: Literal["start", "warmup_end"] = Field(
        "start",
        description="Where warmup_decay's linear decay is measured from (warmup_cosine always "
        "decays from the end of warmup). `start`: step 0, as "
        "in keras_bert's AdamWarmup and Google's BERT optimizer, so right after warmup the rate "
        "steps down to min_lr + (learning_rate − min_lr) · (1 − warmup share). `warmup_end`: from the peak at the "
        "end of warmup (Hugging Face's linear schedule with warmup); AdamWarmup's base rate is "
        "rescaled after warmup, its update rule is unchanged.",
    )
    warmup_proportion: float = Field(
        0.1, ge=0.0, lt=1.0, description="Warmup steps as a share of all training steps."
    )
    warmup_steps: int | None = Field(
        None, ge=0, description="Warmup as a step count; overrides warmup_proportion."
    )
    min_lr: float = Field(0.0, ge=0.0, description="Learning rate at the last step (the decaying schedules).")
    weight_decay: float = Field(0.01, ge=0.0, description="Decoupled (AdamW-style) weight decay.")
    decay_all_weights: bool = Field(
        False,
        description="Also decay LayerNorm and bias weights (keras_bert's TF2 AdamWarmup "
        "decays everything; BERT's recipe decays only matrices and embeddings).",
    )
    clipnorm: float | None = Field(
        1.0, gt=0, description="Clip the global gradient norm to this (null = no clipping)."
    )
    epsilon: float = Field(1e-6, gt=0, description="Adam epsilon.")
    head_lr_multiplier: float = Field(
        100.0, gt=0,
        description="Factor on the whole schedule of the head's parts that learn from scratch: "
        "the CRF (model.head crf / bilstm_crf), the BiLSTM and the emission layer that reads "
        "it (bilstm_crf). BERT, the softmax head and an emission layer on BERT's output keep "
        "the schedule. At BERT's fine-tuning rate the CRF's transitions barely move in a few "
        "hundred steps, and an emission layer after a BiLSTM cannot lift rare tags above `O`.",
    )
    head_lr_multipliers: HeadMultipliers = Field(
        default_factory=lambda: HeadMultipliers(),
        description="Per-part factors on the schedule, each overriding head_lr_multiplier for "
        "its part: `bilstm` (NER-BiLSTM), `emission` (the Dense layer giving per-tag scores, "
        "every head; default head_lr_multiplier after a BiLSTM, 1 otherwise) and `crf` "
        "(transitions, start and end scores), e.g. `{emission: 1}`: the BiLSTM-CRF as "
        "wd-train trained it until its emission default changed (docs/studies/sparse-heads).",
    )

    @model_validator(mode="after")
    def _decay_goes_down(self) -> OptimizerConfig:
        if self.schedule in DECAYING_SCHEDULES and self.min_lr > self.learning_rate:
            raise ValueError(f"min_lr ({self.min_lr:g}) is above "
                             f"learning_rate ({self.learning_rate:g}): the decay "
                             "would climb")
        return self


class TrainingConfig(Section):
    epochs: int = Field(3, ge=1, description="Maximum epochs.")
    batch_size: int = Field(32, ge=1, description="Sentences (windows) per batch.")
    seed: int = Field(42, ge=0, description="Seeds shuffling, dropout and initialisation.")
    patience: int | None = Field(
        None, ge=1, description="Stop after this many epochs without a better dev F1."
    )
    loss_average: Literal["batch", "words"] = Field(
        "batch",
        description="`batch`: mean over each batch's labelled words (the usual convention; "
        "every batch weighs the same, so under length bucketing a word in a batch of short "
        "sentences weighs more). `words`: sum over the batch's labelled words divided by the "
        "average number per batch, so every word weighs the same, as with random batches.",
    )
    precision: Literal["auto", "float32", "mixed_bfloat16", "mixed_float16"] = Field(
        "auto",
        description="Compute dtype (variables, the head's logits, the loss and AdamWarmup's "
        "state stay float32). `auto`: mixed_bfloat16 on GPUs of compute capability 8.0 or "
        "more, else float32 (so CPU runs are float32). mixed_float16 uses dynamic loss scaling.",
    )
    jit_compile: bool | Literal["auto"] = Field(
        "auto",
        description="Compile the training and evaluation steps with XLA. `auto`: on with a "
        "GPU, off on CPUs. Each batch shape compiles once: see data.pad_to_multiple_of.",
    )
    fused_update: bool | Literal["auto"] = Field(
        "auto",
        description="Compile the optimizer's update alone with XLA (one compilation: the "
        "parameters' shapes are fixed), so that AdamWarmup's element-wise steps become one or "
        "two passes over the parameters instead of about ten. Same math (its schedule, weight "
        "decay pattern, lr factors and float16 loss-scale skips), to float32 reassociation: the "
        "embedding table's sparse gradient is made dense first. `auto`: on, except under a "
        "tf.distribute strategy, which it does not support (`true` there is refused); with "
        "training.jit_compile on, the whole step, update included, is compiled anyway.",
    )
    gpu: int | list[int] | None = Field(
        None,
        description="GPU index, or a list of indexes, to train on (as TensorFlow numbers the "
        "visible GPUs); null: all that CUDA_VISIBLE_DEVICES leaves visible. Every GPU used "
        "gets memory growth, so several processes can share one.",
    )
    distribution: Literal["auto", "none", "mirrored", "multi_worker"] = Field(
        "auto",
        description="tf.distribute strategy. `mirrored`: data-parallel over this machine's "
        "GPUs (MirroredStrategy). `multi_worker`: over several machines, each process started "
        "with its own TF_CONFIG (MultiWorkerMirroredStrategy; worker 0 writes the run "
        "directory). `auto`: mirrored when more than one GPU is visible, else `none`. "
        "training.batch_size is the global batch, split across the replicas; the loss is "
        "normalised over the global batch, so the run follows one device's trajectory.",
    )
    max_loss: float | None = Field(
        1000.0, gt=0,
        description="Divergence guard: stop the run (exit code 3, no metrics.json) at the first "
        "step whose loss is not finite or above this. Cross-entropy starts near ln(number of "
        "tags), about 2; null checks finiteness only.",
    )


    @field_validator("gpu")
    @classmethod
    def _gpu_indexes(cls, gpu: int | list[int] | None) -> int | list[int] | None:
        indexes = [gpu] if isinstance(gpu, int) else gpu or []
        if any(i < 0 for i in indexes) or (isinstance(gpu, list) and
                                            (not gpu or len(set(gpu)) != len(gpu))):
            raise ValueError(f"expected a GPU index >= 0 or a list of distinct ones (got {gpu})")
        return gpu


class OutputConfig(Section):
    dir: Path = Field(Path("runs/default"), description="Run directory.")


# Keys a comparison sets itself in every cell, so a variant may not set them.
CELL_KEYS = ("training.seed", "output.dir")
VARIANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+=-]*")


class CompareConfig(Section):
    variants: dict[str, dict[str, Any]] = Field(
        {"warmup_decay": {"optimizer.schedule": "warmup_decay"},
         "constant": {"optimizer.schedule": "constant"}},
        description="Variant name → dotted overrides applied to this config (e.g. "
        "`constant: {optimizer.schedule: constant}`). Each variant × seed is one run in "
        "`<output.dir>/<variant>/seed-<N>/`.",
    )
    baseline: str | None = Field(
        None,
        description="The variant every other one is compared with (paired by seed; with more "
        "than one comparison, significance is Holm-adjusted). Default: `constant` when there "
        "is such a variant, else the first listed.",
    )
    seeds: list[int] = Field(
        [1, 2, 3], min_length=1,
        description="training.seed of each run; variants are paired by seed for the confidence "
        "interval of their difference.",
    )
    grid: dict[str, list[Any]] = Field(
        {},
        description="Dotted key → values, crossed with every variant (and seed): e.g. "
        "`{optimizer.learning_rate: [3.0e-5, 1.0e-4, 3.0e-4]}`. Each grid point is a run "
        "folder of its own, `<variant>/learning_rate=0.0003/seed-<N>/`; the summary selects "
        "each variant's best point on dev F1 only, compares the variants there on test (paired "
        "by seed), compares them at every shared point too, and draws lr_sensitivity.png.",
    )

    @field_validator("variants")
    @classmethod
    def _check_variants(cls, variants: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if not variants:
            raise ValueError("name at least one variant")
        for name, overrides in variants.items():
            if not VARIANT_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not usable as a folder name (letters, digits, "
                                 "_ . + = -)")
            for key in overrides:
                if "." not in key:
                    raise ValueError(f"{name}: {key!r} is not a dotted section.key (e.g. "
                                     "optimizer.schedule)")
                if key in CELL_KEYS or key.split(".")[0] in ("compare", "gate"):
                    raise ValueError(f"{name}: {key} is set by the comparison itself "
                                     "(compare.seeds, output.dir)")
        return variants

    @field_validator("grid")
    @classmethod
    def _check_grid(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in grid.items():
            if "." not in key:
                raise ValueError(f"{key!r} is not a dotted section.key (e.g. "
                                 "optimizer.learning_rate)")
            if key in CELL_KEYS or key.split(".")[0] in ("compare", "gate"):
                raise ValueError(f"{key} is set by the comparison itself (compare.seeds, "
                                 "output.dir)")
            if not values:
                raise ValueError(f"{key}: give at least one value")
            if any(isinstance(v, (dict, list)) for v in values):
                raise ValueError(f"{key}: grid values are single values (numbers, strings, "
                                 "booleans)")
            if len({repr(v) for v in values}) != len(values):
                raise ValueError(f"{key}: a value is listed twice ({values})")
        return grid

    @model_validator(mode="after")
    def _grid_keys_are_not_variant_keys(self) -> CompareConfig:
        for name, overrides in self.variants.items():
            both = sorted(set(overrides) & set(self.grid))
            if both:
                raise ValueError(f"variants.{name} sets {both[0]}, which compare.grid varies: "
                                 "a cell would have two values for it")
        return self

    @model_validator(mode="after")
    def _baseline_is_a_variant(self) -> CompareConfig:
        if self.baseline is not None and self.baseline not in self.variants:
            raise ValueError(f"baseline {self.baseline!r} is not one of the variants "
                             f"({', '.join(self.variants)})")
        return self

    @field_validator("seeds")
    @classmethod
    def _check_seeds(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise ValueError(f"expected distinct seeds >= 0 (got {seeds})")
        return seeds


GATE_METRIC = re.compile(r"(dev|test)\.(?:per_type\.[^.\s]+\.)?(f1|precision|recall)")


class GateConfig(Section):
    metric: str = Field(
        "test.f1",
        description="Metric checked: `test.f1`, `dev.f1`, `…precision`, `…recall`, or one entity "
        "type's score such as `test.per_type.PER.f1`. For a comparison, each variant's mean "
        "over its seeds is checked; in a grid, each variant's at its best point (selected on "
        "dev: the sweep's other points may be bad or diverge).",
    )
    min: float = Field(
        ge=0.0, le=1.0,
        description="Threshold (0–1): a metric below it fails the run with exit code 1. "
        "`--min-f1 X` on the command line sets it.",
    )

    @field_validator("metric")
    @classmethod
    def _check_metric(cls, metric: str) -> str:
        if not GATE_METRIC.fullmatch(metric):
            raise ValueError(f"expected dev.f1, test.f1, test.recall, test.per_type.TYPE.f1, … "
                             f"(got {metric!r})")
        return metric


class Config(Section):
    data: DataConfig
    model: ModelConfig
    optimizer: OptimizerConfig = OptimizerConfig()
    training: TrainingConfig = TrainingConfig()
    output: OutputConfig = OutputConfig()
    compare: CompareConfig | None = Field(
        None, description="Run several variants × seeds of this config and summarise them "
        "(mean ± std, paired differences with a 95 % CI, plots) in output.dir.",
    )
    gate: GateConfig | None = Field(
        None, description="Turn the run into a check: exit code 1 when gate.metric is below "
        "gate.min.",
    )

    @model_validator(mode="after")
    def _windows_fit_the_positions(self) -> Config:
        init = self.model.random_init
        if init is not None and self.data.max_seq_len > init.max_position:
            raise ValueError(f"data.max_seq_len ({self.data.max_seq_len}) is more than "
                             f"model.random_init.max_position ({init.max_position})")
        return self

    @model_validator(mode="after")
    def _gate_needs_its_split(self) -> Config:
        if self.gate is not None and self.gate.metric.startswith("test.") and \
                self.data.test is None:
            raise ValueError(f"gate.metric: {self.gate.metric} needs data.test (or gate on "
                             "dev.f1)")
        return self
