"""Compare agents across seeds: success mean ± std per task, as a Markdown table and a bar chart.

Reads the final evaluations that `launch/train.py` writes to
`<root>/<env_name>/<agent>/seed<k>/eval_final.json` (its default workdir layout).
"""

import glob
import json
import os

import numpy as np

from tfnfrl.training import report
from tfnfrl.training import trainer


def collect(root):
    """{env_name: {agent: {seed: evaluation dict}}} for every finished run under `root`."""
    results = {}
    pattern = os.path.join(root, "*", "*", "seed*", trainer.FINAL_EVAL_FILE)
    for path in sorted(glob.glob(pattern)):
        seed_dir = os.path.dirname(path)
        agent_dir = os.path.dirname(seed_dir)
        env_name = os.path.basename(os.path.dirname(agent_dir))
        seed = int(os.path.basename(seed_dir)[len("seed"):])
        with open(path) as f:
            results.setdefault(env_name, {}).setdefault(os.path.basename(agent_dir), {})[seed] = json.load(f)
    return results


def summarize(runs_by_seed):
    """{label: (mean, std, n)} over seeds for each task label and "mean" (std: population, ddof=0)."""
    values = {}
    for result in runs_by_seed.values():
        for label, value in report.success_rows(result):
            values.setdefault(label, []).append(value)
    return {label: (float(np.mean(v)), float(np.std(v)), len(v)) for label, v in values.items()}


def markdown_table(agent_runs, agents=None):
    """Markdown table for one env: rows = tasks + mean, columns = agents, cells 'mean ± std'."""
    agents = [a for a in (agents or sorted(agent_runs)) if a in agent_runs]
    summaries = {a: summarize(agent_runs[a]) for a in agents}
    labels = []
    for summary in summaries.values():
        labels += [label for label in summary if label not in labels]
    seeds = {a: len(agent_runs[a]) for a in agents}
    header = "| task | " + " | ".join(f"{a} ({seeds[a]} seeds)" for a in agents) + " |"
    lines = [header, "|---|" + "---:|" * len(agents)]
    for label in labels:
        cells = []
        for a in agents:
            if label in summaries[a]:
                mean, std, _ = summaries[a][label]
                cell = f"{mean:.3f} ± {std:.3f}"
                cells.append(f"**{cell}**" if label == "mean" else cell)
            else:
                cells.append("–")
        lines.append(f"| {'**mean**' if label == 'mean' else label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_comparison(results, path, agents=None):
    """Bar chart, one panel per env: per-task and mean success of each agent, ± std over seeds."""
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    envs = sorted(results)
    fig, axes = plt.subplots(1, len(envs), figsize=(6 * len(envs), 4), squeeze=False)
    for ax, env_name in zip(axes[0], envs):
        env_agents = [a for a in (agents or sorted(results[env_name])) if a in results[env_name]]
        summaries = {a: summarize(results[env_name][a]) for a in env_agents}
        labels = []
        for summary in summaries.values():
            labels += [label for label in summary if label not in labels]
        width = 0.8 / max(len(env_agents), 1)
        x = np.arange(len(labels))
        for i, agent in enumerate(env_agents):
            means = [summaries[agent].get(label, (np.nan, 0, 0))[0] for label in labels]
            stds = [summaries[agent].get(label, (0, 0, 0))[1] for label in labels]
            ax.bar(x + (i - (len(env_agents) - 1) / 2) * width, means, width, yerr=stds, capsize=3, label=agent)
        ax.set_xticks(x, labels)
        ax.set(title=env_name, ylabel="success rate", ylim=(0, 1.05))
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    return report.save_figure(fig, path, dpi=110)
