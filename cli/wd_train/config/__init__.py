"""The config stage: the schema (`schema.py`), reading and overriding it (`loading.py`), and the
reference table of docs/configuration.md generated from it (`reference.py`)."""

from .loading import (
    apply_override,
    apply_overrides,
    config_to_yaml,
    flatten_config,
    load_config,
    parse_override,
    parse_value,
    read_config,
    read_saved_config,
    require_same_config,
    saved_config,
    validate,
)
from .schema import (
    Config,
    DataConfig,
    GateConfig,
    ModelConfig,
    OptimizerConfig,
    TrainingConfig,
)

__all__ = [
    "Config",
    "DataConfig",
    "GateConfig",
    "ModelConfig",
    "OptimizerConfig",
    "TrainingConfig",
    "apply_override",
    "apply_overrides",
    "config_to_yaml",
    "flatten_config",
    "load_config",
    "parse_override",
    "parse_value",
    "read_config",
    "read_saved_config",
    "require_same_config",
    "saved_config",
    "validate",
]
