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
    assert info["cpu_bf16"]["native"] in (True, False, None)
    text = wd_invoke("info").stdout
    assert "auto settings: device" in text and "matmul peak (1 s probe): float32" in text
    assert "CPU bfloat16: " in text
    assert info["cpu_kernels"] in ("oneDNN", "Eigen")
    assert f"CPU kernels: {info['cpu_kernels']} (TF_ENABLE_ONEDNN_OPTS=" in text


@pytest.mark.parametrize(("switch", "expected"), [(None, "oneDNN"), ("0", "Eigen"), ("1", "oneDNN")])
def test_wd_train_chooses_onednn_kernels_unless_the_user_says_otherwise(switch, expected):
    """Importing wd_train before TensorFlow turns oneDNN's CPU kernels on (TensorFlow's default
    is Eigen's on many CPUs); a TF_ENABLE_ONEDNN_OPTS the user set wins. The run's device name
    records which, as results depend on it."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if switch is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = switch
    code = ("import wd_train, tensorflow\n"
            "from wd_train.training.device import describe_device, onednn_enabled\n"
            "print(onednn_enabled(), describe_device())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, check=True).stdout.split("\n")[-2]
    assert out.startswith(str(expected == "oneDNN"))
    assert out.endswith(", oneDNN)") == (expected == "oneDNN")


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


XEON_SAPPHIRE = """processor	: 0
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Platinum 8480+
flags		: fpu vme sse sse2 avx avx2 avx512f avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8
bugs		: spectre_v1

processor	: 1
flags		: fpu vme sse sse2 avx avx2 avx512f avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8
"""
SKYLAKE = "processor\t: 0\nflags\t\t: fpu sse sse2 avx avx2 avx512f avx512bw avx512_vnni\n"
GRAVITON3 = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes sha3 sve i8mm bf16 rng\n"


@pytest.mark.parametrize(("cpuinfo", "native", "flags"), [
    (XEON_SAPPHIRE, True, ["amx_bf16", "avx512_bf16"]),
    (SKYLAKE, False, []),
    (GRAVITON3, True, ["bf16"]),
    ("processor\t: 0\nmodel name\t: something\n", None, []),  # no flags line
    (None, None, []),  # no /proc/cpuinfo
])
def test_cpu_bf16_is_read_from_the_cpu_flags(cpuinfo, native, flags):
    found = device.cpu_bf16(cpuinfo)
    assert found == {"native": native, "flags": flags}
    text = device.bf16_text(found)
    expected = {True: "CPU bfloat16: native", False: "CPU bfloat16: not native",
                None: "CPU bfloat16: unknown"}[native]
    assert text.startswith(expected)
    if native is not None:  # where a user reads what bfloat16 did to F1 and speed
        assert "docs/speed.md#bfloat16" in text


def test_the_bfloat16_figures_info_points_to_exist():
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs" / "speed.md").read_text()
    assert "\n## bfloat16\n" in page


def test_read_cpuinfo_reads_a_file_or_says_none(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(SKYLAKE)
    assert device.read_cpuinfo(str(path)) == SKYLAKE
    assert device.read_cpuinfo(str(tmp_path / "absent")) is None
