"""NF-GCBC's training is bit-identical to before the learner redesign (commit 00ea1c9)."""

import json
import os

from tests.training.conftest import tiny_agent_config, tiny_run
from tfnfrl.training import metrics_log, trainer

RECORD = os.path.join(os.path.dirname(__file__), "data", "nf_gcbc_losses_seed0.json")


def test_nf_gcbc_losses_of_updates_1_to_200_are_bit_identical_to_the_record(tiny_data_dir, tmp_path):
    with open(RECORD) as f:
        expected = json.load(f)["losses"]
    workdir = str(tmp_path / "run")
    trainer.train(tiny_agent_config("nf_gcbc"), tiny_run(tiny_data_dir, steps=200, log_every=1, checkpoint_every=200), workdir)
    rows = metrics_log.read_metrics(workdir)
    losses = [r["training/actor/loss"] for r in rows if "training/actor/loss" in r]
    assert len(losses) == len(expected) == 200
    mismatches = [(i + 1, a, b) for i, (a, b) in enumerate(zip(losses, expected)) if a != b]
    assert not mismatches, f"{len(mismatches)} updates differ; first (step, now, recorded): {mismatches[:3]}"
