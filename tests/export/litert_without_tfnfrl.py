"""Run a LiteRT policy (`policy.tflite`) from a process that cannot import tfnfrl.

Run by tests/export/test_tflite.py as

  python -I -S litert_without_tfnfrl.py SITE_PACKAGES MODEL INPUTS_NPZ OUTPUTS_NPZ REPORT_JSON

from a temporary directory (-I -S: no PYTHONPATH, no .pth files, so no tfnfrl egg-link; only
SITE_PACKAGES is appended to sys.path). INPUTS_NPZ holds, per request id R, arrays
R.observations, R.goals, R.noise; OUTPUTS_NPZ gets R = the model's actions. The interpreter is
`ai_edge_litert`'s; REPORT_JSON records whether tfnfrl, tensorflow or TFP were imported.
This file imports nothing from the repository.
"""

import json
import sys

sys.path.append(sys.argv[1])


def main(model_path, inputs_path, outputs_path, report_path):
    report = {}
    try:
        import tfnfrl  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import
        report["tfnfrl_import_error"] = None
    except ImportError as error:
        report["tfnfrl_import_error"] = str(error)
    import numpy as np  # pylint: disable=import-outside-toplevel
    from ai_edge_litert.interpreter import Interpreter  # pylint: disable=import-outside-toplevel

    runner = Interpreter(model_path=model_path, num_threads=1).get_signature_runner("serving_default")
    report["inputs"] = sorted(runner.get_input_details())
    arrays = np.load(inputs_path)
    outputs = {}
    for request in sorted({key.split(".")[0] for key in arrays.files}):
        feed = {name: arrays[f"{request}.{name}"] for name in ("observations", "goals", "noise")}
        outputs[request] = runner(**feed)["actions"]
    np.savez(outputs_path, **outputs)
    report["tensorflow_imported"] = "tensorflow" in sys.modules
    report["tensorflow_probability_imported"] = "tensorflow_probability" in sys.modules
    with open(report_path, "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(*sys.argv[2:6])
