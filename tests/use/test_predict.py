"""`wd-train predict`: a finished run tags and scores files exactly as the run did."""

import json
import shutil

import pytest

from wd_train.use.predict import predict_file


def test_predict_scores_a_file_as_the_run_did(finished_run):

    metrics, run_dir, dataset, _ = finished_run
    prediction = predict_file(run_dir, dataset["test"], batch_size=7)
    assert prediction.scores.f1 == pytest.approx(metrics["test"]["f1"], abs=1e-9)
    assert prediction.conll_lines() == (run_dir / "predictions.conll").read_text()
    assert prediction.as_dict()["scored"] is True


def test_predict_tags_a_tokens_only_file(finished_run):

    _, run_dir, dataset, tmp = finished_run
    gold_lines = dataset["test"].read_text().splitlines()
    tokens_only = tmp / "tokens.txt"
    tokens_only.write_text("\n".join(line.split()[0] if line else "" for line in gold_lines))
    prediction = predict_file(run_dir, tokens_only)
    assert prediction.scores is None
    expected = [" ".join(line.split()[::2]) if line else ""  # word and predicted tag
                for line in (run_dir / "predictions.conll").read_text().splitlines()]
    assert prediction.conll_lines().splitlines() == expected


def test_predict_command(wd_process, finished_run, tmp_path):
    metrics, run_dir, dataset, _ = finished_run
    out = tmp_path / "pred.conll"
    result = wd_process("predict", run_dir, dataset["test"], "--output", out, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["f1"] == pytest.approx(metrics["test"]["f1"], abs=1e-9)
    assert out.read_text() == (run_dir / "predictions.conll").read_text()
    piped = wd_process("predict", run_dir, dataset["test"], "--quiet")
    assert piped.stdout == out.read_text()
    same = wd_process("predict", run_dir, dataset["test"], "-o", dataset["test"])
    assert same.returncode == 2 and "is the input file" in same.stderr
    damaged = shutil.copytree(run_dir, tmp_path / "damaged")
    (damaged / "weights.h5").unlink()
    no_weights = wd_process("predict", damaged, dataset["test"])
    assert no_weights.returncode == 2 and "weights file not found" in no_weights.stderr
    (damaged / "weights.h5").write_bytes(b"not hdf5")
    bad_weights = wd_process("predict", damaged, dataset["test"])
    assert bad_weights.returncode == 2 and "cannot load" in bad_weights.stderr
    assert "Traceback" not in bad_weights.stderr
    missing = wd_process("predict", tmp_path / "nowhere", dataset["test"])
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "not a finished wd-train run" in missing.stderr


def test_a_copied_run_predicts_without_the_files_it_was_made_from(finished_run, tmp_path):
    metrics, run_dir, dataset, _ = finished_run
    copy = shutil.copytree(run_dir, tmp_path / "moved")
    saved_vocab = dataset["vocab"].read_bytes()
    dataset["vocab"].rename(tmp_path / "vocab-away")  # the vocab the run was trained with
    try:
        prediction = predict_file(copy, dataset["test"])
    finally:
        (tmp_path / "vocab-away").rename(dataset["vocab"])
    assert (copy / "vocab.txt").read_bytes() == saved_vocab
    assert prediction.conll_lines() == (run_dir / "predictions.conll").read_text()
    assert prediction.scores.f1 == pytest.approx(metrics["test"]["f1"], abs=1e-12)


def test_raw_texts_are_tagged_as_the_same_words_in_a_file(finished_run, tmp_path):
    from wd_train.use.predict import predict_texts

    _, run_dir, dataset, _ = finished_run
    sentences = [block.splitlines() for block in
                 dataset["test"].read_text().strip().split("\n\n")]
    texts = ["  ".join(line.split()[0] for line in block) for block in sentences]
    tokens_only = tmp_path / "tokens.conll"
    tokens_only.write_text("\n\n".join("\n".join(line.split()[0] for line in block)
                                       for block in sentences) + "\n")
    from_file = predict_file(run_dir, tokens_only)
    from_text = predict_texts(run_dir, [*texts, ""])
    assert [p.tags for p in from_text[:-1]] == from_file.predicted
    assert from_text[-1].words == [] and from_text[-1].entities == []
    for prediction in from_text:
        for entity in prediction.entities:
            assert prediction.text[entity.start:entity.end] == entity.text


def test_predict_command_on_raw_text(finished_run, wd_process, tmp_path):
    _, run_dir, _, _ = finished_run
    texts = tmp_path / "texts.txt"
    texts.write_text("John Smith visited London .\n\nMary Jones met the Red Cross\n")
    result = wd_process("predict", run_dir, texts, "--quiet")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["text"] for line in lines] == ["John Smith visited London .", "",
                                                 "Mary Jones met the Red Cross"]
    one = wd_process("predict", run_dir, "--text", "John Smith visited London .", "-q")
    assert json.loads(one.stdout) == lines[0]
    conll = wd_process("predict", run_dir, "--text", "John Smith", "--format", "conll", "-q")
    assert [line.split()[0] for line in conll.stdout.split("\n") if line] == ["John", "Smith"]
    both = wd_process("predict", run_dir, texts, "--text", "x")
    assert both.returncode == 2 and "either FILE or --text" in both.stderr
    tagged = tmp_path / "test.txt"  # CoNLL in a .txt file (Hugging Face's CoNLL-2003 layout)
    tagged.write_text("John B-PER\nSmith I-PER\n")
    as_conll = wd_process("predict", run_dir, tagged, "--quiet")
    assert as_conll.returncode == 0 and as_conll.stdout.split("\n")[0].startswith("John B-PER ")
    assert "read as a CoNLL file" in as_conll.stderr
    as_text = wd_process("predict", run_dir, tagged, "--input", "text", "--quiet")
    assert json.loads(as_text.stdout.splitlines()[0])["text"] == "John B-PER"


def test_constrained_decoding_can_be_switched_on_for_a_finished_run(finished_run, wd_process):
    # The weights stay; only the decoder changes: the scheme's Viterbi gives no invalid
    # sequence, and switching it off again reproduces the run's own (arg-max) predictions.
    from wd_train.evaluation import count_invalid

    metrics, run_dir, dataset, _ = finished_run
    constrained = predict_file(run_dir, dataset["test"], constrained=True)
    assert constrained.scores.invalid_sequences == 0
    assert count_invalid(constrained.predicted, "iob2") == 0
    plain = predict_file(run_dir, dataset["test"], constrained=False)
    assert plain.conll_lines() == (run_dir / "predictions.conll").read_text()
    assert plain.scores.invalid_sequences == metrics["test"]["invalid_sequences"]
    if metrics["test"]["invalid_sequences"]:
        assert constrained.predicted != plain.predicted
    result = wd_process("predict", run_dir, dataset["test"], "--constrained", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["f1"] == pytest.approx(constrained.scores.f1, abs=1e-12)
    assert json.loads(result.stdout)["invalid_sequences"] == 0
