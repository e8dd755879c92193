"""Call exported SavedModels from a Python process that has TensorFlow but cannot import tfnfrl.

Run by tests/export/test_clean_process.py as

  python -I -S serve_without_tfnfrl.py SITE_PACKAGES REQUESTS_JSON INPUTS_NPZ OUTPUTS_NPZ REPORT_JSON

from a temporary directory: -I drops PYTHONPATH, the user site and the script's directory;
-S skips `site`, so the .pth files (including tfnfrl's development egg-link) are never read.
Only TensorFlow's own site-packages directory is appended to sys.path.

REQUESTS_JSON is a list of {"id", "model", "signature", "loader", "inputs": {input: npz key}}:
  loader "signature": tf.saved_model.load(...).signatures[signature](**tensors) (every input given);
  loader "signature_numpy": the same called with the numpy arrays themselves;
  loader "function":  the restored tf.function attribute of the same name (optional inputs may be left out);
  loader "session":   a TF1 session, as TF Serving runs a SavedModel (feeds by the SignatureDef's tensor names).
Each output dict's single value is stored in OUTPUTS_NPZ under the request id; failures go to
REPORT_JSON's "errors" as {"type", "message"}. This file imports nothing from the repository.
"""

import json
import sys

sys.path.append(sys.argv[1])  # TensorFlow's site-packages, without processing its .pth files.


def main(requests_path, inputs_path, outputs_path, report_path):
    report = {"errors": {}}
    try:
        import tfnfrl  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import

        report["tfnfrl_import_error"] = None
    except ImportError as error:
        report["tfnfrl_import_error"] = f"{type(error).__name__}: {error}"

    import numpy as np  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    with open(requests_path) as f:
        requests = json.load(f)
    arrays = dict(np.load(inputs_path))
    loaded, sessions, outputs = {}, {}, {}

    def session_for(model):
        if model not in sessions:
            graph = tf.Graph()
            session = tf.compat.v1.Session(graph=graph)
            with graph.as_default():
                meta_graph = tf.compat.v1.saved_model.load(session, ["serve"], model)
            sessions[model] = (session, meta_graph)
        return sessions[model]

    for request in requests:
        model, signature = request["model"], request["signature"]
        values = {name: arrays[key] for name, key in request["inputs"].items()}
        try:
            if request["loader"] == "session":
                session, meta_graph = session_for(model)
                definition = meta_graph.signature_def[signature]
                feeds = {definition.inputs[name].name: value for name, value in values.items()}
                fetches = {name: info.name for name, info in definition.outputs.items()}
                result = session.run(fetches, feeds)
            else:
                if model not in loaded:
                    loaded[model] = tf.saved_model.load(model)
                if request["loader"] == "signature_numpy":
                    tensors = values
                else:
                    tensors = {name: tf.constant(value) for name, value in values.items()}
                if request["loader"].startswith("signature"):
                    result = loaded[model].signatures[signature](**tensors)
                else:
                    result = getattr(loaded[model], signature)(**tensors)
                result = {name: tensor.numpy() for name, tensor in result.items()}
            (value,) = result.values()
            outputs[request["id"]] = value
        except Exception as error:  # pylint: disable=broad-except  # Reported to the test.
            report["errors"][request["id"]] = {"type": type(error).__name__, "message": str(error)}

    report["tensorflow_probability_imported"] = "tensorflow_probability" in sys.modules
    report["tensorflow_version"] = tf.__version__
    np.savez(outputs_path, **outputs)
    with open(report_path, "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main(*sys.argv[2:6])
