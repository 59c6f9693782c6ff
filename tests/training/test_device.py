"""Devices: what `wd-train info` reports, what `auto` picks, choosing GPUs."""

import json

import pytest

from wd_train.errors import WdTrainError
from wd_train.training import device


def test_info_reports_versions_devices_auto_settings_and_a_matmul_probe(wd_invoke):
    result = wd_invoke("info", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["versions"]["tensorflow"].startswith("2.21")
    assert info["devices"][0]["kind"] == "CPU"
    assert info["gpus_found"] == len(info["devices"]) - 1
    assert set(info["cuda_libraries"]) == {"cudart", "cudnn"}
    if info["gpus_found"] == 0:
        assert info["auto"] == {"precision": "float32", "jit_compile": False, "device": "CPU"}
    assert info["matmul_peak_gflops"]["float32"] > 1.0
    text = wd_invoke("info").stdout
    assert "auto settings: device" in text and "matmul peak (1 s probe): float32" in text


def test_version(wd_invoke):
    from wd_train import __version__

    result = wd_invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"wd-train {__version__}"


@pytest.mark.parametrize(("capabilities", "expected"), [
    ([], "float32"), ([(7, 5)], "float32"), ([(8, 0)], "mixed_bfloat16"),
    ([(9, 0), (8, 6)], "mixed_bfloat16"), ([(9, 0), (7, 0)], "float32"), ([None], "float32"),
])
def test_auto_precision_wants_bfloat16_on_every_gpu(capabilities, expected, monkeypatch):
    gpus = list(range(len(capabilities)))
    monkeypatch.setattr(device, "compute_capability", lambda gpu: capabilities[gpu])
    assert device.auto_precision(gpus) == expected


def test_choosing_a_gpu_that_is_not_there_is_one_error():
    import tensorflow as tf

    count = len(tf.config.list_physical_devices("GPU"))
    with pytest.raises(WdTrainError, match=rf"training.gpu: \[{count}\] but TensorFlow sees "
                                           rf"{count} GPU"):
        device.configure_gpus(count)
