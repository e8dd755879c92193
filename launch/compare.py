r"""Summarise finished runs: success mean ± std over seeds per env, agent and task.

  python launch/compare.py --root=runs --agents=nf_gcbc,gcbc,fm_gcbc \
      --plot=results/gcbc_comparison.png

Reads <root>/<env_name>/<agent>/seed<k>/eval_final.json (launch/train.py's default workdirs),
prints one Markdown table per env, and writes a bar chart PNG.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

_ROOT = flags.DEFINE_string("root", "runs", "Directory holding <env_name>/<agent>/seed<k>/ run workdirs.")
_AGENTS = flags.DEFINE_list("agents", None, "Agents to show, in column order; default: all found.")
_PLOT = flags.DEFINE_string("plot", None, "Write a bar chart PNG here (optional).")


def main(argv):
    del argv
    from tfnfrl.training import compare  # pylint: disable=import-outside-toplevel

    results = compare.collect(_ROOT.value)
    if not results:
        raise app.UsageError(f"No finished runs (eval_final.json) under {_ROOT.value!r}.")
    for env_name in sorted(results):
        print(f"\n### {env_name}\n")
        print(compare.markdown_table(results[env_name], agents=_AGENTS.value))
    if _PLOT.value:
        print(f"\nPlot: {compare.plot_comparison(results, _PLOT.value, agents=_AGENTS.value)}")


if __name__ == "__main__":
    app.run(main)
