"""`--allow-unfinished`: predict and export with an interrupted run's latest weights, with a
warning line; and the folders export and import-hf write follow the umask (not 0700)."""

import os
import stat

import numpy as np
import pytest

from wd_train.config import load_config
from wd_train.training.run import train_run


class Interrupted(Exception):
    pass


def _interrupted_run(tmp_path, tiny_dataset, tiny_config_dict, write_config):
    """A run killed during its third epoch: model.json, vocab.txt and two epoch snapshots."""
    def progress(phase, done, total, values):
        if phase == "train" and values.get("epoch") == 3:
            raise Interrupted

    path = write_config(tmp_path / "c.yaml", tiny_config_dict(tiny_dataset, tmp_path / "run",
                                                              training={"epochs": 4}))
    with pytest.raises(Interrupted):
        train_run(load_config(path)[0], progress=progress)
    return tmp_path / "run"


def test_allow_unfinished_uses_the_latest_snapshot_with_a_warning(
        tmp_path, tiny_dataset, tiny_config_dict, write_config, wd_invoke):
    import tensorflow as tf

    from wd_train.use.trained import load_trained

    run = _interrupted_run(tmp_path, tiny_dataset, tiny_config_dict, write_config)
    assert not (run / "metrics.json").exists() and not (run / "weights.h5").exists()
    refused = wd_invoke("predict", run, "--text", "John Smith visited Paris", "-q")
    assert refused.exit_code == 2 and "--allow-unfinished" in refused.stderr

    # the tagger holds exactly the last snapshot's model variables
    model, _ = load_trained(run, allow_unfinished=True)
    reader = tf.train.load_checkpoint(str(run / "checkpoint" / "epoch-2"))
    saved = sorted(float(np.abs(reader.get_tensor(key)).sum())
                   for key in reader.get_variable_to_shape_map()
                   if key.startswith("model/") and "OPTIMIZER_SLOT" not in key)
    assert np.allclose(saved, sorted(float(np.abs(w).sum()) for w in model.get_weights()))

    result = wd_invoke("predict", run, "--text", "John Smith visited Paris", "-q",
                       "--allow-unfinished")
    assert result.exit_code == 0, result.stderr
    warning = (f"warning: {run}: an unfinished run (no metrics.json): using its latest epoch "
               "snapshot, checkpoint/epoch-2, not a finished run's best weights")
    assert result.stderr.strip().splitlines() == [warning]
    assert result.stdout.count("\n") == 1  # one JSON line

    mask = os.umask(0o022)
    try:
        exported = wd_invoke("export", run, tmp_path / "saved", "--allow-unfinished")
    finally:
        os.umask(mask)
    assert exported.exit_code == 0, exported.stderr
    assert "checkpoint/epoch-2" in exported.stderr
    assert stat.S_IMODE((tmp_path / "saved").stat().st_mode) == 0o755


def test_import_hf_folder_follows_the_umask(tmp_path, hf_bert):
    from wd_train.model.hf_import import import_hf

    mask = os.umask(0o027)
    try:
        import_hf(hf_bert.write(tmp_path / "hf"), tmp_path / "google")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "google").stat().st_mode) == 0o750
