r"""Fit ConditionalFlow to a conditional bimodal 2-D density; print the fit, plot samples.

  python launch/flow_demo.py [--steps 1500] [--output flow_demo.png]

Prints the flow's and a diagonal Gaussian's test NLL next to the target's true entropy,
and writes a PNG with the data and flow samples for three contexts.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
from absl import logging  # noqa: E402

_STEPS = flags.DEFINE_integer("steps", 1500, "Training steps (batch 256) for each model.")
_BLOCK_TYPE = flags.DEFINE_enum("block_type", "coupling", ["coupling", "autoregressive"], "Flow block type.")
_OUTPUT = flags.DEFINE_string("output", "flow_demo.png", "Where to write the comparison PNG.")
_SEED = flags.DEFINE_integer("seed", 0, "Random seed for data and weights.")


def main(argv):
    del argv
    from tfnfrl.flows import demo

    report = demo.run(steps=_STEPS.value, block_type=_BLOCK_TYPE.value, output=_OUTPUT.value, seed=_SEED.value)
    print(report)
    logging.info("Wrote %s", _OUTPUT.value)


if __name__ == "__main__":
    app.run(main)
