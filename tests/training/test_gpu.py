"""On a GPU (skipped where TensorFlow sees none; bench/gpu_check.sh runs these): a run trains on
the GPU with the `auto` settings (mixed_bfloat16 from compute capability 8.0, XLA), passes the
tiny gate, and its variables and the loss stay float32; every visible GPU is mirrored."""

import pytest

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def gpus():
    import tensorflow as tf

    found = tf.config.list_physical_devices("GPU")
    if not found:
        pytest.skip("no GPU visible to TensorFlow (`wd-train info` says why)")
    return found


def test_a_run_trains_on_the_gpu_with_auto_settings(gpus, tmp_path, tiny_dataset,
                                                    tiny_config_dict, write_config):
    import tensorflow as tf

    from wd_train.config import load_config
    from wd_train.training.run import train_run

    path = write_config(tmp_path / "gpu.yaml", tiny_config_dict(
        tiny_dataset, tmp_path / "run", training={"epochs": 4}))
    metrics = train_run(load_config(path)[0])
    assert metrics.device.startswith("GPU")
    # the rule, from TensorFlow's own device details: bfloat16 from compute capability 8.0 on
    capabilities = [tf.config.experimental.get_device_details(g).get("compute_capability")
                    for g in gpus]
    ampere = all(c is not None and tuple(c) >= (8, 0) for c in capabilities)
    assert metrics.precision == ("mixed_bfloat16" if ampere else "float32")
    assert metrics.jit_compile and 1 <= metrics.compiled_shapes <= 8
    assert 0 < metrics.compile_seconds < metrics.wall_seconds
    assert metrics.distribution == ("mirrored" if len(gpus) > 1 else "none")
    assert metrics.replicas == len(gpus)
    assert metrics.dev.f1 > 0.1  # all-O would score 0


def test_memory_growth_is_on(gpus):
    import tensorflow as tf

    from wd_train.training.device import configure_gpus

    configure_gpus()
    assert all(tf.config.experimental.get_memory_growth(g) for g in gpus)


def test_matmul_peak_bfloat16_beats_float32_on_ampere_or_later(gpus):
    from wd_train.training.device import auto_precision, matmul_peak

    if auto_precision(gpus) != "mixed_bfloat16":
        pytest.skip("GPU older than compute capability 8.0")
    assert matmul_peak("bfloat16", 0.5, 4096) > matmul_peak("float32", 0.5, 4096)
