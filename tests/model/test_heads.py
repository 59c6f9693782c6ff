"""Every head end to end on the tiny BERT: trains, reloads (predict gives the run's own dev
predictions), exports (the SavedModel tags as predict does); constrained decoding leaves no
invalid sequence."""

import pytest

from wd_train.data.reader import read_conll


@pytest.fixture(scope="module")
def head_runs(tmp_path_factory, write_tiny_dataset, train_tiny):
    folder = tmp_path_factory.mktemp("heads")
    dataset = write_tiny_dataset(folder)
    runs = {}
    for name, model in (("crf", {"head": "crf"}),
                        ("bilstm_crf", {"head": "bilstm_crf", "lstm_units": 32}),
                        ("constrained", {"constrained_decoding": True})):
        # a randomly initialised BiLSTM learns more slowly: 5 epochs (measured: bilstm_crf dev
        # F1 0 / 0.21 / 0.24 / 0.61 after epochs 2–5, softmax 0.85 after 3)
        runs[name] = train_tiny(folder, dataset, name, training={"epochs": 5}, model=model)
    return runs, dataset


@pytest.mark.parametrize("name", ["crf", "bilstm_crf", "constrained"])
def test_a_head_trains_and_reloads(head_runs, name):
    from wd_train.run_dir import read_tagger_file
    from wd_train.use.predict import predict_file

    runs, dataset = head_runs
    metrics, run_dir = runs[name]
    assert metrics["dev"]["predicted_entity_share"] > 0  # not the all-O collapse
    tagger = read_tagger_file(run_dir)
    assert tagger.head == ("softmax" if name == "constrained" else name)
    assert tagger.constrained_decoding == (name == "constrained")
    if name == "constrained":
        assert metrics["dev"]["invalid_sequences"] == 0
        assert metrics["test"]["invalid_sequences"] == 0
    # the reloaded model decodes as the run did: predict reproduces its dev predictions word
    # for word, and so every dev score the run recorded
    reloaded = predict_file(run_dir, dataset["dev"])
    lines = (run_dir / "predictions.dev.conll").read_text(encoding="utf-8").split("\n\n")
    recorded = [[line.split()[-1] for line in block.splitlines()] for block in lines
                if block.strip()]
    assert reloaded.predicted == recorded
    assert reloaded.scores.model_dump(mode="json") == metrics["dev"]


def test_the_crf_learns_transitions(head_runs):
    import h5py
    import numpy as np

    _, run_dir = head_runs[0]["crf"]
    with h5py.File(run_dir / "weights.h5") as weights:
        found = []
        weights.visititems(lambda name, item: found.append(np.array(item))
                           if name.endswith("transitions:0") else None)
    assert len(found) == 1 and np.abs(found[0]).max() > 1e-3  # moved from their zero start


@pytest.mark.slow
def test_the_crf_export_tags_as_predict_does(head_runs, tmp_path, serve_saved_model):
    from wd_train.use.export import export_run
    from wd_train.use.predict import predict_texts

    runs, dataset = head_runs
    _, run_dir = runs["bilstm_crf"]
    texts = ["  ".join(s.tokens) for s in read_conll(dataset["test"])]
    texts += ["", " ".join(["peter blackburn visited berlin"] * 12)]  # several windows
    export_dir = export_run(run_dir, tmp_path / "model")
    served = serve_saved_model(export_dir, texts)
    for python, graph in zip(predict_texts(run_dir, texts), served["rows"], strict=True):
        assert graph["tags"] == python.tags


def test_the_parts_that_learn_from_scratch_get_the_head_learning_rate_by_default():
    from wd_train.model.tagger import BackboneSpec, head_lr_multipliers, rebuild_tagger

    spec = BackboneSpec(token_num=40, pos_num=16, embed_dim=8, transformer_num=1, head_num=2,
                        feed_forward_dim=16)
    models = {head: rebuild_tagger(spec, 5, 0.1, head, lstm_units=4)
              for head in ("softmax", "crf", "bilstm_crf")}

    def factors(head, **per_part):
        parts = {"bilstm": None, "emission": None, "crf": None, **per_part}
        return {name.split("/")[0]: factor for name, factor in
                head_lr_multipliers(models[head], 100.0, parts).items()}

    assert factors("softmax") == {}
    assert factors("crf") == {"NER-CRF": 100.0}
    # the emission layer reads the BiLSTM's new features: it learns at the head's rate too
    assert factors("bilstm_crf") == {"NER-CRF": 100.0, "NER-BiLSTM": 100.0,
                                     "NER-Dense": 100.0}
    # each part on its own: the BiLSTM at 10, the emission layer at 5, the CRF as before
    assert factors("bilstm_crf", bilstm=10.0, emission=5.0) == {
        "NER-CRF": 100.0, "NER-BiLSTM": 10.0, "NER-Dense": 5.0}
    # the earlier default stays reachable: the emission layer at 1 after the BiLSTM
    assert factors("bilstm_crf", emission=1.0) == {"NER-CRF": 100.0, "NER-BiLSTM": 100.0}
    assert factors("softmax", emission=3.0) == {"NER-Dense": 3.0}
