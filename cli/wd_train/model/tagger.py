"""The tagger: a keras_bert backbone (pretrained checkpoint or random init) + a token head.

sequence output → Dropout → [BiLSTM] → Dense(num_labels) logits → [CRF]. The loss and the
decoder of each head live in decoding.py; the backbone's GELU and LayerNorm epsilon in
activation.py.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, model_validator

from ..bert_folder import BERT_CONFIG_FILE, WEIGHTS_PREFIX, BertFolder
from ..config import ModelConfig
from ..errors import WdTrainError
from .activation import KERAS_BERT_EPSILON, building_backbone, feed_forward_activation
from .activation import resolve as resolve_activation

MAX_PARAMETERS = 2e9  # BERT-large has 3.4e8: far above any checkpoint keras_bert loads


class BackboneSpec(BaseModel):
    """Arguments of keras_bert's `get_model`: enough to rebuild the network for reloading."""

    token_num: int
    pos_num: int
    embed_dim: int
    transformer_num: int
    head_num: int
    feed_forward_dim: int
    # not get_model's arguments: built in through model/activation.py (keras_bert's defaults)
    activation: str = "gelu_tanh"
    layer_norm_eps: float = KERAS_BERT_EPSILON

    @model_validator(mode="after")
    def _buildable(self) -> BackboneSpec:
        """A damaged model.json is refused here, not deep in TensorFlow (a ZeroDivisionError,
        or a backbone too large for memory)."""
        sizes = {"token_num": self.token_num, "pos_num": self.pos_num,
                 "embed_dim": self.embed_dim, "transformer_num": self.transformer_num,
                 "head_num": self.head_num, "feed_forward_dim": self.feed_forward_dim}
        small = [k for k, v in sizes.items() if v < 1]
        if small:
            raise ValueError(f"{small[0]} {sizes[small[0]]}: expected at least 1")
        if self.embed_dim % self.head_num:
            raise ValueError(f"head_num {self.head_num} does not divide embed_dim "
                             f"{self.embed_dim}")
        parameters = (self.token_num + self.pos_num) * self.embed_dim + self.transformer_num * (
            4 * self.embed_dim ** 2 + 2 * self.embed_dim * self.feed_forward_dim)
        if parameters > MAX_PARAMETERS:
            raise ValueError(f"a backbone of {parameters:.3g} parameters (more than "
                             f"{MAX_PARAMETERS:.0e}): not a BERT this tool trained")
        return self

    def get_model_arguments(self) -> dict:
        return self.model_dump(exclude={"activation", "layer_norm_eps"})


def backbone_spec(config: ModelConfig, vocab_size: int, folder: BertFolder | None
                  ) -> BackboneSpec:
    """`folder`: the checkpoint's, read once (bert_folder.read_bert_folder); None with
    random_init."""
    activation, epsilon = resolve_activation(config.activation,
                                             folder.meta if folder is not None else None)
    if folder is not None:
        bert = folder.shape
        if bert.hidden_act != "gelu":
            raise WdTrainError(
                f"{folder.path}/{BERT_CONFIG_FILE}: hidden_act {bert.hidden_act!r}; "
                "keras_bert supports gelu"
            )
        return BackboneSpec(
            token_num=bert.vocab_size,
            pos_num=bert.max_position_embeddings,
            embed_dim=bert.hidden_size,
            transformer_num=bert.num_hidden_layers,
            head_num=bert.num_attention_heads,
            feed_forward_dim=bert.intermediate_size,
            activation=activation,
            layer_norm_eps=epsilon,
        )
    init = config.random_init
    return BackboneSpec(
        token_num=vocab_size,
        pos_num=init.max_position,
        embed_dim=init.hidden,
        transformer_num=init.layers,
        head_num=init.heads,
        feed_forward_dim=init.feed_forward or 4 * init.hidden,
        activation=activation,
        layer_norm_eps=epsilon,
    )


def check_positions(folder: BertFolder | None, max_seq_len: int) -> None:
    """A window longer than the position embeddings would die deep in TensorFlow: refuse it
    before any work (random_init is checked by the config schema)."""
    if folder is None:
        return
    positions = folder.shape.max_position_embeddings
    if max_seq_len > positions:
        raise WdTrainError(f"data.max_seq_len ({max_seq_len}) is more than the model's "
                           f"position embeddings ({folder.path / BERT_CONFIG_FILE}: "
                           f"max_position_embeddings {positions})")


def _random_backbone(spec: BackboneSpec):
    import tensorflow as tf
    from keras_bert import get_model

    with building_backbone(spec.activation, spec.layer_norm_eps):
        inputs, sequence_output = get_model(
            **spec.get_model_arguments(), seq_len=None, training=False, trainable=True,
            feed_forward_activation=feed_forward_activation(spec.activation),
        )
        return tf.keras.Model(inputs=inputs, outputs=sequence_output, name="bert")


def _pretrained_backbone(checkpoint: Path, spec: BackboneSpec):
    from keras_bert import load_trained_model_from_checkpoint

    try:
        with building_backbone(spec.activation, spec.layer_norm_eps):
            return load_trained_model_from_checkpoint(
                str(checkpoint / BERT_CONFIG_FILE),
                str(checkpoint / WEIGHTS_PREFIX),
                training=False,
                trainable=True,  # keras_bert's default follows `training`, i.e. frozen
                seq_len=None,  # variable-length batches
            )
    except (ValueError, KeyError, IndexError) as exc:  # a tensor missing, misshaped or cut off
        raise WdTrainError(f"model.checkpoint: {checkpoint / WEIGHTS_PREFIX}: cannot load "
                           f"({exc or type(exc).__name__})") from None


def add_tagging_head(backbone, num_labels: int, head_dropout: float, head: str = "softmax",
                     lstm_units: int = 128):
    """Dropout → [BiLSTM] → Dense logits → [CRF]. `head`: softmax | crf | bilstm_crf. The CRF
    layer passes the logits through and holds the transitions (model/crf.py)."""
    import tensorflow as tf

    from .crf import crf_layer_class
    from .decoding import CRF_LAYER

    hidden = tf.keras.layers.Dropout(head_dropout, name="NER-Dropout")(backbone.output)
    if head == "bilstm_crf":
        hidden = tf.keras.layers.Bidirectional(
            tf.keras.layers.LSTM(lstm_units, return_sequences=True), name="NER-BiLSTM")(hidden)
    logits = tf.keras.layers.Dense(
        num_labels,
        # BERT's initialiser for task heads (truncated normal, stddev 0.02)
        kernel_initializer=tf.keras.initializers.TruncatedNormal(stddev=0.02),
        name="NER-Dense",
        dtype="float32",  # logits (and so the loss) in float32 under a mixed precision policy
    )(hidden)
    if head in ("crf", "bilstm_crf"):
        logits = crf_layer_class()(num_labels, name=CRF_LAYER, dtype="float32")(logits)
    return tf.keras.Model(inputs=backbone.inputs, outputs=logits, name="bert_tagger")


def build_tagger(config: ModelConfig, spec: BackboneSpec, num_labels: int):
    """Backbone (pretrained weights or random init) + head, ready to train."""
    import tensorflow as tf

    if config.checkpoint is not None:
        try:
            backbone = _pretrained_backbone(config.checkpoint, spec)
        except tf.errors.OpError as exc:
            raise WdTrainError(
                f"model.checkpoint: {config.checkpoint}: cannot read checkpoint ({exc.message})"
            ) from None
    else:
        backbone = _random_backbone(spec)
    tagger = add_tagging_head(backbone, num_labels, config.head_dropout, config.head,
                              config.lstm_units)
    if config.attention_dropout > 0.0:
        from .attention import set_attention_dropout

        if not set_attention_dropout(tagger, config.attention_dropout):
            raise WdTrainError("model.attention_dropout: the model has no keras_bert attention "
                               "layer to apply it to")
    return tagger


def rebuild_tagger(spec: BackboneSpec, num_labels: int, head_dropout: float,
                   head: str = "softmax", lstm_units: int = 128):
    """Same network without loading pretrained weights (weights come from a run directory)."""
    return add_tagging_head(_random_backbone(spec), num_labels, head_dropout, head, lstm_units)


HEAD_PARTS = {"bilstm": "NER-BiLSTM", "emission": "NER-Dense"}  # + crf: the CRF layer


def head_parts(model) -> dict[str, list]:
    """The head's trainable variables by part: `bilstm`, `emission` (the per-tag scores) and
    `crf`, each present only where the head has it."""
    from .decoding import CRF_LAYER

    layers = {**HEAD_PARTS, "crf": CRF_LAYER}
    by_layer = {layer.name: layer for layer in model.layers}
    return {part: by_layer[name].trainable_weights for part, name in layers.items()
            if name in by_layer}


def head_lr_multipliers(model, multiplier: float, per_part: dict[str, float | None]
                        ) -> dict[str, float]:
    """Variable name → factor on its schedule. The parts that learn from scratch take
    `multiplier`: the BiLSTM, the CRF, and the emission layer when it reads the BiLSTM (its
    input is then new features, not BERT's; at factor 1 its weights move at most
    lr × steps from their 0.02-scale init, too little to lift rare tags above `O`:
    docs/studies/sparse-heads). On BERT's output (softmax, crf) the emission layer stays at 1,
    as any BERT task head. `per_part` overrides each part where set."""
    parts = head_parts(model)
    emission_default = multiplier if "bilstm" in parts else 1.0
    defaults = {"bilstm": multiplier, "crf": multiplier, "emission": emission_default}
    factors = {}
    for part, variables in parts.items():
        factor = per_part.get(part) or defaults[part]
        if factor != 1.0:
            factors.update({v.name: factor for v in variables})
    return factors
