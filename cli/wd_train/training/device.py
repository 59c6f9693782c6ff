"""Where and with what a run trains: the device TensorFlow sees, package versions, and seeding
every random source a run uses."""

from __future__ import annotations

import platform
from importlib import metadata


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("wd-train", "tensorflow", "tf-keras", "keras-bert", "numpy", "seqeval"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def describe_device() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return f"CPU ({platform.machine()})"
    details = tf.config.experimental.get_device_details(gpus[0])
    return f"GPU ({details.get('device_name', gpus[0].name)})"


def seed_everything(seed: int) -> None:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow seeds
    tf.config.experimental.enable_op_determinism()
