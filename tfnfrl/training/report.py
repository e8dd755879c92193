"""Human-readable summaries of runs: success tables and learning curves."""

import os

from tfnfrl.training import metrics_log


def success_rows(result):
    """[(task label, success)] sorted by task id, then ("mean", ...), from an evaluation dict."""
    rows = [(k.split("/", 1)[1], float(v)) for k, v in result.items() if k.startswith("success/task")]
    rows.sort(key=lambda kv: int(kv[0][len("task"):]))
    if "success/mean" in result:
        rows.append(("mean", float(result["success/mean"])))
    return rows


def success_table(results):
    """A text table of success rates: `results` maps a column name to an evaluation dict."""
    names = list(results)
    labels = []
    for result in results.values():
        for label, _ in success_rows(result):
            if label not in labels:
                labels.append(label)
    task_names = {}
    for result in results.values():
        task_names.update(result.get("task_names", {}))
    titles = {
        label: f"{label} ({task_names[label]})" if task_names.get(label, label) != label else label for label in labels
    }
    width = max([len("task")] + [len(t) for t in titles.values()])
    lines = ["task".ljust(width) + "".join(f"  {n:>12}" for n in names)]
    lines.append("-" * len(lines[0]))
    for label in labels:
        title = titles[label]
        cells = []
        for result in results.values():
            value = dict(success_rows(result)).get(label)
            cells.append(f"  {'-' if value is None else f'{value:.3f}':>12}")
        lines.append(title.ljust(width) + "".join(cells))
    return "\n".join(lines)


def plot_learning_curve(workdirs, path, title=None):
    """Save a PNG of evaluation success (mean over tasks) and training loss against steps.

    `workdirs` maps a legend label to a training workdir. Returns `path`.
    """
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    fig, (ax_success, ax_loss) = plt.subplots(1, 2, figsize=(10, 4))
    for label, workdir in workdirs.items():
        rows = metrics_log.read_metrics(workdir)
        evals = [(r["step"], r["evaluation/success/mean"]) for r in rows if r.get("evaluation/success/mean") is not None]
        losses = [(r["step"], r["training/loss"]) for r in rows if r.get("training/loss") is not None]
        val = [(r["step"], r["validation/loss"]) for r in rows if r.get("validation/loss") is not None]
        if evals:
            ax_success.plot(*zip(*evals), marker="o", label=label)
        if losses:
            ax_loss.plot(*zip(*losses), label=f"{label} train")
        if val:
            ax_loss.plot(*zip(*val), linestyle="--", label=f"{label} validation")
    ax_success.set(xlabel="training step", ylabel="success rate (mean over tasks)", ylim=(-0.02, 1.02))
    ax_loss.set(xlabel="training step", ylabel="loss (NLL for likelihood heads)")
    for ax in (ax_success, ax_loss):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
