"""Export trained agents as TF Serving SavedModels (functions, not distributions).

`export_workdir(workdir, export_dir, name, version, step)` restores a training run and
writes `<export_dir>/<name>/<version>/` with the signatures `serving_default`,
`sample_actions` and `log_prob` (see `PolicyModule`) and `assets/policy_info.json`;
`export_agent(agent, export_dir, name, ...)` does the same for an agent in memory. With
`formats=("savedmodel", "tflite")` a LiteRT model lands beside it (`tfnfrl.export.tflite`).
"""

from tfnfrl.export.exporter import (
    DEFAULT_EXPORT_DIR,
    FORMATS,
    ExportResult,
    check_formats,
    export_agent,
    export_workdir,
    verify_export,
)
from tfnfrl.export.metadata import ASSET_FILENAME, read_policy_info
from tfnfrl.export.policy_module import POLICY_SIGNATURES, PolicyModule
from tfnfrl.export.versions import check_model_name, default_model_name, existing_versions, next_version

__all__ = [
    "ASSET_FILENAME",
    "DEFAULT_EXPORT_DIR",
    "FORMATS",
    "POLICY_SIGNATURES",
    "ExportResult",
    "PolicyModule",
    "check_formats",
    "check_model_name",
    "default_model_name",
    "existing_versions",
    "export_agent",
    "export_workdir",
    "next_version",
    "read_policy_info",
    "verify_export",
]
