"""`wd-train export`: a SavedModel that tags raw text exactly as `wd-train predict --text` does,
loaded where only TensorFlow and tensorflow-text are imported."""

import json
import re
from pathlib import Path

import pytest

from wd_train.data.reader import read_conll
from wd_train.errors import WdTrainError
from wd_train.use.export import OUTPUTS, export_run
from wd_train.use.predict import predict_texts

ROOT = Path(__file__).resolve().parents[2]

@pytest.fixture(scope="module")
def exported(finished_run, tmp_path_factory):
    _, run_dir, dataset, _ = finished_run
    return export_run(run_dir, tmp_path_factory.mktemp("export") / "model"), run_dir, dataset


def test_the_export_tags_every_word_as_predict_does(exported, serve_saved_model):
    export_dir, run_dir, dataset = exported
    texts = ["  ".join(s.tokens) for s in read_conll(dataset["test"])]
    texts += ["", "  John  Smith visited São Paulo , Zürich and Ærø !!",
              "smith\u00a0visited\u3000berlin\u2028and\x00the ﬁne Straße in Ｐａｒｉｓ",
              "Mary Jones (of the Red Cross) met officials in New York — «London»",
              " ".join(["peter blackburn visited berlin"] * 12),  # 48 words: several windows
              "x" * 150 + " visited Paris"]  # a word over 100 characters: one [UNK]
    expected = predict_texts(run_dir, texts)
    served = serve_saved_model(export_dir, texts)
    assert served["modules"] == []  # neither keras_bert nor wd_train is needed
    assert served["outputs"] == sorted(OUTPUTS)
    for python, graph in zip(expected, served["rows"], strict=True):
        assert graph["tokens"] == [w.text for w in python.words]
        assert graph["starts"] == [w.start for w in python.words]
        assert graph["ends"] == [w.end for w in python.words]
        assert graph["tags"] == python.tags
        assert graph["entities"] == [e.as_dict() for e in python.entities]
        for entity in graph["entities"]:
            assert python.text[entity["start"]:entity["end"]] == entity["text"]


def test_a_constrained_export_tags_as_predict_constrained(finished_run, tmp_path,
                                                          serve_saved_model):
    # The run decoded by arg-max; exported with --constrained, the graph runs the scheme's
    # Viterbi and must agree with `predict --constrained` (and give no invalid sequence).
    from wd_train.evaluation import count_invalid

    _, run_dir, dataset, _ = finished_run
    texts = ["  ".join(s.tokens) for s in read_conll(dataset["test"])]
    texts.append(" ".join(["peter blackburn visited berlin"] * 12))  # several windows
    export_dir = export_run(run_dir, tmp_path / "constrained", constrained=True)
    served = serve_saved_model(export_dir, texts)
    expected = predict_texts(run_dir, texts, constrained=True)
    for python, graph in zip(expected, served["rows"], strict=True):
        assert graph["tags"] == python.tags
    assert count_invalid([row["tags"] for row in served["rows"]], "iob2") == 0
    plain = predict_texts(run_dir, texts, constrained=False)  # the constraints did change tags
    assert [p.tags for p in plain] != [row["tags"] for row in served["rows"]]


def test_the_documented_request_fits_the_signature(exported):
    """The REST example in docs/using-a-tagger.md: its request body is what the signature
    takes, and its response lists the signature's outputs."""
    import tensorflow as tf

    export_dir, _, _ = exported
    page = (ROOT / "docs" / "using-a-tagger.md").read_text(encoding="utf-8")
    request = json.loads(re.search(r"-d '(\{.*?\})'", page, flags=re.DOTALL).group(1))
    response = json.loads(re.search(r"```json\n(\{\s*\"predictions\".*?)\n```", page,
                                    flags=re.DOTALL).group(1))
    signature = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    (inputs,) = signature.structured_input_signature[1].values()
    assert list(signature.structured_input_signature[1]) == ["texts"]
    assert inputs.dtype == tf.string and inputs.shape.rank == 1
    assert all(isinstance(text, str) for text in request["instances"])  # TF Serving's row format
    out = signature(texts=tf.constant(request["instances"]))
    assert sorted(out) == sorted(OUTPUTS)
    assert len(response["predictions"]) == len(request["instances"])
    assert sorted(response["predictions"][0]) == sorted(OUTPUTS)


def test_export_refuses_what_it_cannot_write(exported, tmp_path):
    _, run_dir, _ = exported
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("")
    for overwrite in (False, True):  # --overwrite replaces an earlier export, nothing else
        with pytest.raises(WdTrainError, match="exists and is not a SavedModel folder"):
            export_run(run_dir, tmp_path / "taken", overwrite=overwrite)
    assert (tmp_path / "taken" / "x").exists()
    with pytest.raises(WdTrainError, match="no model.json"):
        export_run(tmp_path, tmp_path / "out")


def test_export_overwrite_never_destroys_what_is_not_an_export(exported, tmp_path,
                                                                monkeypatch):
    """The cases that once deleted data: the current folder, the run, the run's parent, a
    device node or a file, a symlink to a folder."""
    export_dir, run_dir, _ = exported
    before = sorted(p.name for p in run_dir.iterdir())
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("mine")
    (work / "saved_model.pb").write_text("looks like one, but is the user's folder")
    monkeypatch.chdir(work)
    (tmp_path / "link").symlink_to(work)
    (tmp_path / "file").write_text("keep")
    for out, message in ((Path("."), "holds the current folder or the run"),
                         (run_dir, "holds the current folder or the run"),
                         (run_dir.parent, "holds the current folder or the run"),
                         (Path("/dev/null"), "exists and is not a folder"),
                         (tmp_path / "file", "exists and is not a folder"),
                         (tmp_path / "link", "exists and is not a folder")):
        with pytest.raises(WdTrainError, match=message):
            export_run(run_dir, out, overwrite=True)
    assert (work / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in run_dir.iterdir()) == before
    assert (tmp_path / "file").read_text() == "keep"
    assert Path("/dev/null").exists() and not Path("/dev/null").is_file()
    # an earlier export is replaced with --overwrite, and refused without it
    with pytest.raises(WdTrainError, match="holds a SavedModel; pass --overwrite"):
        export_run(run_dir, export_dir)


MINILM = ROOT / "models" / "all-MiniLM-L6-v2"


@pytest.mark.slow
@pytest.mark.skipif(not (MINILM / "vocab.txt").exists(), reason="MiniLM not converted")
def test_the_graph_tokenizer_splits_every_word_as_training_did(shared_data):
    """Every word of the demo test set (and of CoNLL-2003 test, where the shared data is
    here): the in-graph pieces equal `WordPieceAligner`'s, [UNK] rules included."""
    import tensorflow as tf

    from wd_train.data.wordpieces import WordPieceAligner, load_vocab
    from wd_train.use.export import WordPieces
    from wd_train.use.text import split_words

    files = [ROOT / "data" / "demo" / "test.conll"]
    conll = shared_data / "conll2003" / "eng.testb"
    files += [conll] if conll.exists() else []
    tricky = {"x" * 101, "é" * 60, "Ærø", "naïve", "Straße", "ﬁne", "Ｐａｒｉｓ", "m²", "½",
              "İstanbul", "Ǆemal", "ﬀ", "Σίσυφος", "çà", "e\u0301"}  # folding differs here
    words = sorted({w.text for f in files for s in read_conll(f) for token in s.tokens
                    for w in split_words(token)} | tricky)
    aligner = WordPieceAligner(load_vocab(MINILM / "vocab.txt"), True, 128)
    graph = WordPieces(MINILM / "vocab.txt", lowercase=True)
    pieces = graph.word_piece_ids(tf.constant(words)).to_list()
    wrong = [(w, p) for w, p in zip(words, pieces) if p != aligner.word_piece_ids(w)]
    assert wrong == [] and len(words) > 1000
    text = "\u00a0\u3000".join(words) + " a\u2028b\x00c\u200bd\ufffde"
    split, starts, ends, _, _ = graph.split(tf.constant([text]))
    expected = split_words(text)
    assert [w.decode() for w in split.flat_values.numpy()] == [w.text for w in expected]
    assert starts.numpy().tolist() == [w.start for w in expected]
    assert ends.numpy().tolist() == [w.end for w in expected]


def test_a_batch_without_a_word_is_served_not_refused(exported, serve_saved_model):
    """Empty, blank and control-character texts alone in a request (once InvalidArgument:
    keras_bert's attention cannot take zero windows)."""
    export_dir, _, _ = exported
    served = serve_saved_model(export_dir, ["", "   ", "\x00"])
    assert [row["tokens"] for row in served["rows"]] == [[], [], []]
    assert [row["entities"] for row in served["rows"]] == [[], [], []]
