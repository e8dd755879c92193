r"""Export a training workdir's checkpoint as a TF Serving SavedModel (and a LiteRT model).

  python launch/export.py --workdir=runs/cube_nf_gcbc [--export_dir=savedmodels] \
      [--name=nf_gcbc_cube-single-play-v0] [--version=3] [--checkpoint_step=50000] \
      [--format=savedmodel|tflite]

Writes <export_dir>/<name>/<version>/ (saved_model.pb, variables/, assets/policy_info.json)
with the signatures serving_default, sample_actions and log_prob (savedmodels/README.md
documents them and how to serve them). --name defaults to <agent>_<env_name>; --version to
the next free integer. An existing version is never overwritten: the script exits with an
error instead. The export is reloaded and compared with the library's policy before it is
moved into place. --format=tflite also writes <version>/policy.tflite, a LiteRT model taking
the flow's noise as an input (nf_gcbc, nf_bc, nf_rlbc; see savedmodels/README.md), checked against the library
within 1e-4.
"""

import logging as std_logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's Python INFO lines (one per saved asset/function) would bury the summary.
std_logging.getLogger("tensorflow").setLevel(std_logging.WARNING)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir (holds config.json and checkpoints/).", required=True)
_EXPORT_DIR = flags.DEFINE_string("export_dir", "savedmodels", "Model base directory; the export lands in <export_dir>/<name>/<version>/.")
_NAME = flags.DEFINE_string("name", None, "Model name (TF Serving's /v1/models/<name>); default: <agent>_<env_name>.")
_VERSION = flags.DEFINE_integer("version", None, "Positive integer version; default: one more than the newest existing.")
_CHECKPOINT_STEP = flags.DEFINE_integer("checkpoint_step", None, "Step of the checkpoint to export; default: the newest.")
_FORMAT = flags.DEFINE_enum(
    "format", "savedmodel", ["savedmodel", "tflite"],
    "savedmodel: the SavedModel only; tflite: the SavedModel plus <version>/policy.tflite (LiteRT).",
)
_VERIFY = flags.DEFINE_bool("verify", True, "Reload the export and compare it with the library's policy before keeping it.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected positional arguments: {argv[1:]}")
    from tfnfrl import export  # pylint: disable=import-outside-toplevel

    try:
        result = export.export_workdir(
            _WORKDIR.value, _EXPORT_DIR.value, name=_NAME.value, version=_VERSION.value,
            step=_CHECKPOINT_STEP.value, verify=_VERIFY.value,
            formats=("savedmodel", "tflite") if _FORMAT.value == "tflite" else ("savedmodel",),
        )
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        sys.exit(f"ERROR: {error}")
    info = result.info
    print(f"Exported {info['agent']} ({info['env_name']}, train step {info['train_step']}) to {result.path}")
    print(f"Signatures: {', '.join(info['signatures'])}; policy info: {os.path.join(result.path, 'assets', export.ASSET_FILENAME)}")
    if result.tflite_path:
        print(f"LiteRT model: {result.tflite_path} (inputs observations, goals, noise; output actions)")
    print(f"Serve: tensorflow_model_server --rest_api_port=8501 --model_name={result.name} "
          f"--model_base_path={os.path.abspath(os.path.dirname(result.path))}")


if __name__ == "__main__":
    app.run(main)
