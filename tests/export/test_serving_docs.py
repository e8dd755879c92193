"""savedmodels/README.md's request bodies and savedmodels/models.config match what export writes."""

import json
import os
import re

import numpy as np
import tensorflow as tf

from tfnfrl import export

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAVEDMODELS = os.path.join(ROOT, "savedmodels")
DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}


def _json_blocks():
    with open(os.path.join(SAVEDMODELS, "README.md")) as f:
        return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", f.read(), re.S)]


def _resized(value, spec):
    """A README value as the tensor TF Serving would build, widths shrunk to the test model's."""
    array = np.asarray(value, DTYPES[spec["dtype"]])
    assert array.ndim == len(spec["shape"]), (value, spec)
    if array.ndim == 2 and spec["shape"][-1] > 0:
        array = np.resize(array, (array.shape[0], spec["shape"][-1]))  # 28 -> the tiny model's width.
    return array


def test_readme_rest_bodies_run_against_the_exported_signature(gc_export):
    info = export.read_policy_info(gc_export.path)
    bodies = _json_blocks()
    assert {"inputs" in b for b in bodies} == {True, False}  # Both the columnar and the row form.
    graph = tf.Graph()
    session = tf.compat.v1.Session(graph=graph)
    with graph.as_default():
        meta_graph = tf.compat.v1.saved_model.load(session, ["serve"], gc_export.path)
    checked = 0
    for body in bodies:
        signature = body["signature_name"]
        specs = info["signatures"][signature]["inputs"]
        if "inputs" in body:
            columns = body["inputs"]
        else:  # Row form: TF Serving stacks the instances' values along a new batch axis.
            columns = {k: [row[k] for row in body["instances"]] for k in body["instances"][0]}
        assert set(columns) <= set(specs), set(columns) - set(specs)
        required = set(specs) - set(info["signatures"][signature].get("optional_inputs", {}))
        assert required <= set(columns), required - set(columns)
        definition = meta_graph.signature_def[signature]
        feeds = {definition.inputs[k].name: _resized(v, specs[k]) for k, v in columns.items()}
        actions = session.run(definition.outputs["actions"].name, feeds)
        assert actions.shape == (1, info["action_dim"]) and np.all(np.abs(actions) <= 1.0)
        if "seed" in columns:  # A seeded request is reproducible: the library's act for that seed and those rows.
            observations, goals = (_resized(columns[k], specs[k]) for k in ("observations", "goals"))
            policy = gc_export.agent.policy
            seed = tf.constant(_resized(columns["seed"], specs["seed"]))
            expected = (policy.act_mode(observations, goals) if columns.get("deterministic")
                        else policy.act(observations, goals, seed)).numpy()
            np.testing.assert_allclose(actions, expected, atol=1e-5)
            checked += 1
    assert checked >= 1  # The README shows a seeded request.


def test_models_config_names_are_exportable_and_mounted_under_models():
    with open(os.path.join(SAVEDMODELS, "models.config")) as f:
        text = f.read()
    assert text.count("model_config_list {") == 1
    entries = re.findall(r'name: "([^"]+)"\s*base_path: "([^"]+)"\s*model_platform: "tensorflow"', text)
    assert len(entries) == len(re.findall(r"^\s*config \{", text, re.M)) >= 1
    for name, base_path in entries:
        export.check_model_name(name)
        assert base_path == f"/models/{name}"
    assert text.count("{") == text.count("}")
