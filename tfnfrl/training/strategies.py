"""tf.distribute strategies by name.

"default" (one device) and "mirrored" (all local devices, synchronous all-reduce) are
tested here. "multi_worker" and "tpu" follow the same contract (variables created under
`strategy.scope()`, batches from `experimental_distribute_dataset`, steps through
`strategy.run`), so the trainer needs no change for them; they are untested on this machine.
"""

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def make_strategy(name, tpu_address=""):
    """The tf.distribute.Strategy called `name` (one of STRATEGIES)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        # Reads the cluster from the TF_CONFIG environment variable.
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu_address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"Unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}.")


def is_single_replica_default(strategy):
    """True for the default (no-op) strategy, where the whole step can be XLA-compiled."""
    return not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy()
