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


def save_figure(fig, path, dpi=110):
    """Lay out, write and close a matplotlib figure as a PNG at `path` (directories made); returns `path`."""
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def loss_keys(rows):
    """The "training/<group>/loss" and "validation/<group>/loss" metric names in metrics rows, sorted."""
    keys = {k for r in rows for k in r if k.count("/") == 2 and k.endswith("/loss")}
    return sorted(k for k in keys if k.split("/")[0] in ("training", "validation"))


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
        if evals:
            ax_success.plot(*zip(*evals), marker="o", label=label)
        for key in loss_keys(rows):
            points = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
            split, group = key.split("/")[:2]
            style = "--" if split == "validation" else "-"
            ax_loss.plot(*zip(*points), linestyle=style, label=f"{label} {group} {split}")
    ax_success.set(xlabel="training step", ylabel="success rate (mean over tasks)", ylim=(-0.02, 1.02))
    ax_loss.set(xlabel="training step", ylabel="loss per group (NLL for likelihood heads)")
    for ax in (ax_success, ax_loss):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path, dpi=120)
