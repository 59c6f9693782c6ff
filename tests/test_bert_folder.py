"""The Google-format folder of model.checkpoint: refused with what it lacks; its files read."""

import json

import pytest

from wd_train.bert_folder import (
    BertShape,
    ImportMeta,
    check_folder,
    read_bert_config,
    read_bert_folder,
    read_import_meta,
)
from wd_train.errors import WdTrainError


def test_check_folder_names_what_is_missing(tmp_path):
    with pytest.raises(WdTrainError, match="is not a directory"):
        check_folder(tmp_path / "nowhere")
    (tmp_path / "vocab.txt").write_text("[PAD]\n")
    with pytest.raises(WdTrainError, match="lacks bert_config.json, bert_model.ckpt.index "
                                           r"\(expected a Google-format BERT directory"):
        check_folder(tmp_path)
    shape = {"vocab_size": 30, "max_position_embeddings": 64, "hidden_size": 8,
             "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16}
    (tmp_path / "bert_config.json").write_text(json.dumps({**shape, "hidden_size": True}))
    (tmp_path / "bert_model.ckpt.index").write_bytes(b"")
    check_folder(tmp_path)
    with pytest.raises(WdTrainError, match="bert_config.json: hidden_size must be a positive "
                                           "integer .found True"):
        read_bert_config(tmp_path)
    (tmp_path / "bert_config.json").write_text(json.dumps(shape))
    assert read_bert_config(tmp_path) == BertShape(**shape, hidden_act="gelu")
    assert read_import_meta(tmp_path) == ImportMeta()  # a Google folder not made by import-hf
    (tmp_path / "wd_train.json").write_text(json.dumps({"lowercase": False, "source": "x"}))
    assert read_import_meta(tmp_path) == ImportMeta(lowercase=False)
    folder = read_bert_folder(tmp_path)
    assert (folder.path, folder.shape.max_position_embeddings, folder.meta.lowercase) == (
        tmp_path, 64, False)
    assert read_bert_folder(None) is None  # random_init: no folder
    (tmp_path / "wd_train.json").write_text(json.dumps({"lowercase": "no"}))
    with pytest.raises(WdTrainError, match="wd_train.json: lowercase must be true or false"):
        read_import_meta(tmp_path)
