"""tf.distribute strategies by name, and what each worker of a multi-worker run may write.

  default       one device; the whole update is one XLA function.
  mirrored      all local devices, synchronous all-reduce (tests/training/test_mirrored_strategy.py).
  multi_worker  MultiWorkerMirroredStrategy over the cluster in the TF_CONFIG environment variable;
                every worker runs the same command, the chief (task 0 of "worker", or "chief")
                alone writes files (tests/training/test_multi_worker.py, on 127.0.0.1).
  tpu           TPUStrategy on the TPU at `--run.tpu` ("local" on a Cloud TPU VM); untested here.

All follow one contract: variables created under `strategy.scope()`, batches from
`distribute_datasets_from_function`, steps through `strategy.run`.
"""

import json
import os
import socket

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


class NoTPUError(RuntimeError):
    """`--run.strategy=tpu` found no TPU at `--run.tpu`."""


def make_strategy(name, tpu_address=""):
    """The tf.distribute.Strategy called `name` (one of STRATEGIES)."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}.")
    if tpu_address and name != "tpu":
        raise ValueError(f"--run.tpu={tpu_address!r} needs --run.strategy=tpu (received strategy={name!r}).")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError(
                "--run.strategy=multi_worker reads the cluster from the TF_CONFIG environment variable, which is "
                'not set; e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                '"task": {"type": "worker", "index": 0}}\' on the first host (index 1 on the second).'
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    return _tpu_strategy(tpu_address)


def _tpu_strategy(address):
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError, OSError) as error:
        raise NoTPUError(
            f"No TPU found at --run.tpu={address!r} ({type(error).__name__}: {str(error).strip()[:300]}). On a Cloud "
            "TPU VM pass --run.tpu=local; elsewhere pass the TPU's name or grpc:// address, or train without "
            "--run.strategy=tpu."
        ) from error
    if not tf.config.list_logical_devices("TPU"):
        raise NoTPUError(f"--run.tpu={address!r} resolved, but TensorFlow sees no TPU devices.")
    return tf.distribute.TPUStrategy(resolver)


def is_single_replica_default(strategy):
    """True for the default (no-op) strategy, where the whole step can be XLA-compiled."""
    return not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy()


def is_chief(strategy):
    """True unless this process is a non-chief worker of a multi-worker strategy (which must not write files)."""
    return bool(strategy.extended.should_checkpoint)


def task_label(strategy):
    """'worker1'-style name of this process's task in its cluster ('' outside a multi-worker run)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return ""
    return f"{resolver.task_type}{resolver.task_id}"


def barrier(strategy):
    """Return once every worker has reached this call (an all-reduce of a constant)."""

    @tf.function
    def all_reduce():
        return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.constant(1.0)), axis=None)

    all_reduce()


def loopback_tf_configs(num_workers):
    """TF_CONFIG values of a `num_workers` cluster on 127.0.0.1 at free ports (tests, benchmarks); index 0 is the chief."""
    sockets = [socket.socket() for _ in range(num_workers)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    cluster = {"worker": [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]}
    for s in sockets:
        s.close()
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(num_workers)]
