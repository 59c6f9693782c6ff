"""The Google-format folder of model.checkpoint: refused with what it lacks; its files read."""

import json

import pytest

from wd_train.bert_folder import check_folder, read_bert_config, read_import_meta
from wd_train.errors import WdTrainError


def test_check_folder_names_what_is_missing(tmp_path):
    with pytest.raises(WdTrainError, match="is not a directory"):
        check_folder(tmp_path / "nowhere")
    (tmp_path / "vocab.txt").write_text("[PAD]\n")
    with pytest.raises(WdTrainError, match="lacks bert_config.json, bert_model.ckpt.index "
                                           r"\(expected a Google-format BERT directory"):
        check_folder(tmp_path)
    (tmp_path / "bert_config.json").write_text(json.dumps({"hidden_size": 8}))
    (tmp_path / "bert_model.ckpt.index").write_bytes(b"")
    check_folder(tmp_path)
    assert read_bert_config(tmp_path) == {"hidden_size": 8}
    assert read_import_meta(tmp_path) == {}  # a Google folder not made by import-hf
    (tmp_path / "wd_train.json").write_text(json.dumps({"lowercase": False}))
    assert read_import_meta(tmp_path) == {"lowercase": False}
