"""Writes pre_fusion_flow/ : a ConditionalFlow checkpoint and its log-probs, from an older tree.

Run from a checkout of the commit before the fused coupling conditioner (bccf9b8):
  git archive bccf9b8 | tar -x -C /tmp/old && cd /tmp/old && \
    python /path/to/tests/flows/data/make_pre_fusion_checkpoint.py /path/to/tests/flows/data/pre_fusion_flow
tests/flows/test_conditioners.py restores it into today's (fused) flow and compares log-probs.
"""

import json
import os
import sys

import numpy as np
import tensorflow as tf

sys.path.insert(0, os.getcwd())
from tfnfrl.flows import ConditionalFlow  # noqa: E402

EVENT_DIM, CONTEXT_DIM, NUM_BLOCKS, HIDDEN = 3, 2, 2, 8


def main(out_dir):
    flow = ConditionalFlow(EVENT_DIM, CONTEXT_DIM, num_blocks=NUM_BLOCKS, hidden_units=HIDDEN, init_seed=0, seed=0)
    flow.build()
    rng = np.random.default_rng(0)
    for w in flow.trainable_weights:  # Away from the identity initialisation.
        w.assign(w.numpy() + 0.2 * rng.standard_normal(w.shape).astype(np.float32))
    x = rng.standard_normal((8, EVENT_DIM)).astype(np.float32)
    context = rng.standard_normal((8, CONTEXT_DIM)).astype(np.float32)
    os.makedirs(out_dir, exist_ok=True)
    tf.train.Checkpoint(flow=flow).write(os.path.join(out_dir, "ckpt"))
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(dict(x=x.tolist(), context=context.tolist(), log_prob=flow.log_prob(x, context).numpy().tolist(),
                       paths=[w.path for w in flow.weights]), f)


if __name__ == "__main__":
    main(sys.argv[1])
