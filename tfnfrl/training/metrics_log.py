"""Metrics to TensorBoard and to a JSON-lines file (one {"step": ..., name: value} row per write)."""

import json
import math
import os

import tensorflow as tf
from tensorflow.core.framework import summary_pb2

# TensorBoard's scalar-plugin metadata, written with tf.summary.write so that logging works
# without the `tensorboard` pip package (tf.summary.scalar needs it; TensorBoard reads these).
_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
).SerializeToString()


class MetricsLog:
    """Writes scalar metrics under `workdir`: `metrics.jsonl` and `tensorboard/` event files.

    Names are namespaced like OGBench's ("training/loss", "evaluation/success/mean").
    """

    def __init__(self, workdir):
        self.path = os.path.join(workdir, "metrics.jsonl")
        self.writer = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))

    def truncate_after(self, step):
        """Drop rows logged after `step` (a killed run may have logged past its last checkpoint)."""
        if not os.path.exists(self.path):
            return
        with open(self.path) as f:
            rows = [line for line in f if line.strip() and json.loads(line)["step"] <= step]
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.writelines(rows)
        os.replace(tmp, self.path)

    def write(self, step, metrics):
        """Log `metrics` (name -> number) at `step`."""
        row = {"step": int(step)}
        row.update({k: float(v) for k, v in metrics.items()})
        with open(self.path, "a") as f:
            f.write(json.dumps({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}) + "\n")
        with self.writer.as_default(step=int(step)):
            for name, value in metrics.items():
                tf.summary.write(name, tf.constant(float(value), tf.float32), metadata=_SCALAR_METADATA)
        self.writer.flush()

    def close(self):
        self.writer.close()


class NoLog:
    """`MetricsLog`'s interface writing nothing: the log of a non-chief worker of a multi-worker run."""

    def truncate_after(self, step):
        pass

    def write(self, step, metrics):
        pass

    def close(self):
        pass


def read_metrics(workdir):
    """All rows of `workdir/metrics.jsonl` as a list of dicts."""
    path = os.path.join(workdir, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
