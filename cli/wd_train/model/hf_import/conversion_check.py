"""Checking a conversion end to end: keras_bert on the converted folder against the NumPy
reference on the original weights."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...bert_folder import (
    BERT_CONFIG_FILE,
    IMPORT_META_FILE,
    VOCAB_FILE,
    WEIGHTS_PREFIX,
    read_bert_folder,
)
from ...errors import WdTrainError
from .numpy_bert import numpy_bert_forward
from .source import HF_CONFIG, HF_WEIGHTS, load_safetensors, read_json, require_file

DEFAULT_SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Angela Merkel visited Paris on Tuesday.",
    "Hello world!",
    "Named entity recognition finds people, places and organisations in running text.",
]


def _encode(dst: Path, lowercase: bool, sentences: list[str], max_len: int):
    import numpy as np
    from keras_bert import Tokenizer, load_vocabulary

    token_dict = load_vocabulary(str(dst / VOCAB_FILE))
    for special in ("[CLS]", "[SEP]", "[UNK]"):
        if special not in token_dict:
            raise WdTrainError(f"{dst / VOCAB_FILE}: no {special} token; cannot tokenize")
    tokenizer = Tokenizer(token_dict, cased=not lowercase)
    encoded = [tokenizer.encode(s)[0][:max_len] for s in sentences]
    seq = max(len(ids) for ids in encoded)
    token_ids = np.zeros((len(encoded), seq), dtype=np.int32)
    for row, ids in enumerate(encoded):
        token_ids[row, : len(ids)] = ids
    lengths = np.array([len(ids) for ids in encoded])
    valid = np.arange(seq)[None, :] < lengths[:, None]
    return token_ids, np.zeros_like(token_ids), valid


@dataclass(frozen=True)
class ConversionCheck:
    """keras_bert on the converted folder against the NumPy reference on the original weights:
    the largest absolute difference of the last hidden layer over the compared tokens."""

    max_abs_diff: float  # against the keras_bert-exact reference (tanh GELU, epsilon 1e-14)
    max_abs_diff_exact_gelu: float  # against HF's own computation (erf GELU, epsilon 1e-12)
    # keras_bert built with model.activation: auto, against the checkpoint's own forward pass
    faithful_activation: str
    faithful_layer_norm_eps: float
    max_abs_diff_faithful: float
    sentences: int
    tokens: int


def check_conversion(src: Path, dst: Path, sentences: list[str] | None = None
                     ) -> ConversionCheck:
    """Run keras_bert on the converted ``dst`` and NumPy on the original ``src``; compare.

    Sentences of different lengths are batched with 0-padding; only non-padding positions are
    compared.
    """
    import numpy as np

    src = Path(src)
    dst = Path(dst)
    sentences = list(DEFAULT_SENTENCES if sentences is None else sentences)
    if not sentences:
        raise WdTrainError("check_conversion: no sentences to compare")
    for name in (BERT_CONFIG_FILE, VOCAB_FILE, IMPORT_META_FILE, f"{WEIGHTS_PREFIX}.index"):
        require_file(dst, name)
    folder = read_bert_folder(dst)
    hf_cfg = read_json(require_file(src, HF_CONFIG))
    tensors = load_safetensors(require_file(src, HF_WEIGHTS))

    token_ids, segment_ids, valid = _encode(
        dst,
        folder.meta.lowercase is not False,
        sentences,
        folder.shape.max_position_embeddings,
    )

    from keras_bert import load_trained_model_from_checkpoint

    model = load_trained_model_from_checkpoint(
        str(dst / BERT_CONFIG_FILE),
        str(dst / WEIGHTS_PREFIX),
        training=False,
        trainable=False,
        seq_len=None,
    )
    keras_out = np.asarray(model([token_ids, segment_ids], training=False), dtype=np.float64)
    # the faithful build (model.activation: auto): the checkpoint's own GELU and epsilon
    from ..activation import building_backbone, resolve

    activation, epsilon = resolve("auto", folder.meta)
    with building_backbone(activation, epsilon):
        faithful_model = load_trained_model_from_checkpoint(
            str(dst / BERT_CONFIG_FILE), str(dst / WEIGHTS_PREFIX), training=False,
            trainable=False, seq_len=None)
    faithful_out = np.asarray(faithful_model([token_ids, segment_ids], training=False),
                              dtype=np.float64)

    ref = numpy_bert_forward(tensors, hf_cfg, token_ids, segment_ids)
    exact = numpy_bert_forward(
        tensors, hf_cfg, token_ids, segment_ids, gelu="erf", layer_norm_eps=1e-12
    )
    faithful_ref = exact if activation == "gelu_erf" and epsilon == 1e-12 else numpy_bert_forward(
        tensors, hf_cfg, token_ids, segment_ids,
        gelu="erf" if activation == "gelu_erf" else "tanh", layer_norm_eps=epsilon)
    return ConversionCheck(
        max_abs_diff=float(np.abs(keras_out - ref)[valid].max()),
        max_abs_diff_exact_gelu=float(np.abs(keras_out - exact)[valid].max()),
        faithful_activation=activation,
        faithful_layer_norm_eps=epsilon,
        max_abs_diff_faithful=float(np.abs(faithful_out - faithful_ref)[valid].max()),
        sentences=len(sentences),
        tokens=int(valid.sum()),
    )
