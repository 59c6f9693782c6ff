"""Where and with what a run trains: the device TensorFlow sees, package versions, and seeding
every random source a run uses."""

from __future__ import annotations

import os
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
        return f"CPU ({platform.machine()}{', oneDNN' if onednn_enabled() else ''})"
    details = tf.config.experimental.get_device_details(gpus[0])
    return f"GPU ({details.get('device_name', gpus[0].name)})"


def onednn_enabled() -> bool:
    """Whether TensorFlow runs its CPU ops with oneDNN's kernels (else Eigen's): what
    TF_ENABLE_ONEDNN_OPTS, which wd-train sets to 1 unless it is set (wd_train/__init__.py),
    made of this TensorFlow build on this CPU. Run records carry it in their device name, since
    the two round float32 sums differently."""
    try:
        from tensorflow.python.util import _pywrap_util_port  # TensorFlow's own check

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):  # the private module moved: the switch as set
        return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").lower() in ("1", "true")


def seed_everything(seed: int) -> None:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow seeds
    tf.config.experimental.enable_op_determinism()


def configure_gpus(gpu: int | list[int] | None = None) -> list:
    """Memory growth on every GPU (several sweep processes can share one) and, when `gpu` is
    given, only those GPUs visible (else all, or what CUDA_VISIBLE_DEVICES leaves). Must run
    before TensorFlow initialises its devices; returns the visible GPUs."""
    import tensorflow as tf

    from ..errors import WdTrainError

    gpus = tf.config.list_physical_devices("GPU")
    if gpu is not None:
        wanted = [gpu] if isinstance(gpu, int) else list(gpu)
        missing = [i for i in wanted if not 0 <= i < len(gpus)]
        if missing:
            raise WdTrainError(f"training.gpu: {wanted} but TensorFlow sees {len(gpus)} GPU"
                               f"{'s' * (len(gpus) != 1)} (CUDA_VISIBLE_DEVICES, `wd-train info`)")
        gpus = [gpus[i] for i in wanted]
    try:
        for device in gpus:
            tf.config.experimental.set_memory_growth(device, True)
        if gpu is not None:
            tf.config.set_visible_devices(gpus, "GPU")
    except RuntimeError:  # devices already initialised (a second run in one process): keep them
        pass
    return gpus


def compute_capability(device) -> tuple[int, int] | None:
    import tensorflow as tf

    details = tf.config.experimental.get_device_details(device)
    return details.get("compute_capability")


def auto_precision(gpus: list) -> str:
    """mixed_bfloat16 where every GPU has compute capability 8.0 or more (Ampere on), else
    float32 (CPUs, and older GPUs that have no fast bfloat16)."""
    capabilities = [compute_capability(g) for g in gpus]
    if capabilities and all(c is not None and tuple(c) >= (8, 0) for c in capabilities):
        return "mixed_bfloat16"
    return "float32"


def matmul_peak(dtype: str = "float32", seconds: float = 1.0, size: int = 2048) -> float:
    """GFLOP/s of repeated size × size matmuls for about `seconds` on the default device: the
    yardstick every speed figure of a run is reported next to."""
    import time

    import tensorflow as tf

    a = tf.random.normal([size, size], dtype=tf.float32)
    a = tf.cast(a, dtype)
    matmul = tf.function(lambda x: tf.matmul(x, x))
    matmul(a).numpy()  # trace, warm up
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        result = matmul(a)
        count += 1
    result.numpy()
    return 2 * size**3 * count / (time.perf_counter() - started) / 1e9


BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # x86 /proc/cpuinfo `flags`; Arm lists `bf16`


def cpu_bf16(cpuinfo: str | None) -> dict:
    """Whether the CPU does bfloat16 arithmetic natively, from /proc/cpuinfo's text: x86's
    AMX-BF16 or AVX512-BF16 flags, Arm's `bf16` feature. `native` is None when unknown (no
    /proc/cpuinfo, or no flags line in it)."""
    for line in (cpuinfo or "").splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            present = set(value.split())
            found = [flag for flag in (*BF16_FLAGS, "bf16") if flag in present]
            return {"native": bool(found), "flags": found}
    return {"native": None, "flags": []}


def read_cpuinfo(path: str = "/proc/cpuinfo", limit: int = 1 << 20) -> str | None:
    """The start of /proc/cpuinfo (the first processor's lines are enough), None elsewhere."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read(limit)
    except OSError:
        return None


def cuda_libraries() -> dict[str, str | None]:
    """Where the CUDA runtime and cuDNN would load from: the nvidia-* PyPI packages that
    `tensorflow[and-cuda]` brings, else the system's library path; None where neither has it.
    (The plain TensorFlow wheel is a CUDA build too, but brings no CUDA libraries.)"""
    import ctypes.util
    import importlib.util

    found: dict[str, str | None] = {}
    for name, package in (("cudart", "nvidia.cuda_runtime"), ("cudnn", "nvidia.cudnn")):
        spec = importlib.util.find_spec(package) if importlib.util.find_spec("nvidia") else None
        locations = list(spec.submodule_search_locations or []) if spec else []
        found[name] = (f"{locations[0]} (PyPI)" if locations
                       else ctypes.util.find_library(name))
    return found


def machine_info(probe_seconds: float = 1.0) -> dict:
    """What `wd-train info` prints: versions, TensorFlow's build and devices, what `auto`
    would choose, and a matmul throughput probe."""
    import tensorflow as tf

    gpus = configure_gpus()
    build = tf.sysconfig.get_build_info()
    devices = [{"name": "CPU", "kind": "CPU", "machine": platform.machine()}]
    for index, device in enumerate(gpus):
        details = tf.config.experimental.get_device_details(device)
        devices.append({"name": details.get("device_name", device.name), "kind": "GPU",
                        "index": index,
                        "compute_capability": ".".join(map(str, details.get(
                            "compute_capability") or ())) or None})
    return {
        "versions": package_versions(),
        "cuda_build": bool(build.get("is_cuda_build")),
        "cuda_version": build.get("cuda_version"),
        "cudnn_version": build.get("cudnn_version"),
        "cuda_libraries": cuda_libraries(),
        "gpus_found": len(gpus),
        "devices": devices,
        "cpu_bf16": cpu_bf16(read_cpuinfo()),
        "cpu_kernels": "oneDNN" if onednn_enabled() else "Eigen",
        "auto": {"precision": auto_precision(gpus), "jit_compile": bool(gpus),
                 "device": "GPU" if gpus else "CPU"},
        "matmul_peak_gflops": {"float32": round(matmul_peak("float32", probe_seconds), 1)},
    }


def info_text(info: dict) -> str:
    lines = ["versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items())]
    libraries = info["cuda_libraries"]
    if not info["cuda_build"]:
        lines.append("TensorFlow built without CUDA: it cannot use a GPU")
    else:
        lines.append(f"TensorFlow built for CUDA {info['cuda_version']}, cuDNN "
                     f"{info['cudnn_version']}; CUDA runtime: {libraries['cudart'] or 'not found'}"
                     f"; cuDNN: {libraries['cudnn'] or 'not found'}")
        if not all(libraries.values()):
            lines.append("(without CUDA libraries TensorFlow uses no GPU: on a GPU machine "
                         "`WD_CUDA=1 make setup` installs tensorflow[and-cuda])")
    for device in info["devices"]:
        extra = (f", compute capability {device['compute_capability']}"
                 if device.get("compute_capability") else "")
        lines.append(f"device: {device['kind']} {device['name']}{extra}")
    if info["gpus_found"] == 0:
        lines.append("no GPU visible to TensorFlow: training runs on the CPU")
    lines.append(bf16_text(info["cpu_bf16"]))
    lines.append(f"CPU kernels: {info['cpu_kernels']} (TF_ENABLE_ONEDNN_OPTS=" + (
        "0 chooses Eigen's, whose float32 results do not depend on the CPU's instruction set)"
        if info["cpu_kernels"] == "oneDNN" else "1 chooses oneDNN's, faster on CPUs)"))
    auto = info["auto"]
    lines.append(f"auto settings: device {auto['device']}, precision {auto['precision']}, "
                 f"jit_compile {str(auto['jit_compile']).lower()}")
    peak = info["matmul_peak_gflops"]
    lines.append("matmul peak (1 s probe): " + ", ".join(f"{k} {v:.0f} GFLOP/s"
                                                        for k, v in peak.items()))
    return "\n".join(lines)


def bf16_text(bf16: dict) -> str:
    if bf16["native"] is None:
        return "CPU bfloat16: unknown (no CPU flags to read on this system)"
    if not bf16["native"]:
        return ("CPU bfloat16: not native (no AMX-BF16 / AVX512-BF16 flag): "
                "training.precision=mixed_bfloat16 has no bf16 hardware to use here (what it "
                "does to F1 and speed on CoNLL-2003: docs/speed.md#bfloat16)")
    return (f"CPU bfloat16: native ({', '.join(bf16['flags'])}): "
            "`--set training.precision=mixed_bfloat16` can be faster; `auto` keeps float32 on "
            "CPUs so that a run gives the same F1 on every machine (what it does to F1 and "
            "speed on CoNLL-2003: docs/speed.md#bfloat16)")
