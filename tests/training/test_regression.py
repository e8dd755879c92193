"""NF-GCBC's training matches its record from before the learner redesign (commit 00ea1c9).

With the coupling conditioners unfused (s and t as two separate Dense stacks, as when the
record was written; the library default) the losses are bit-identical. The fused conditioner
(tfnfrl.flows.conditioners, fused=True: one matmul over both first-layer kernels, batched
matmuls after) computes the same function with the same weights, but XLA sums some products
in another order (e.g. the input gradient adds the s and t branches inside one dot instead of
after two), so its losses agree with the record to float32 rounding only: a stated tolerance,
rtol 1e-5 (the first differences are 1 ulp, at update 9).
"""

import json
import os

import numpy as np

from tests.training.conftest import tiny_agent_config, tiny_run
from tfnfrl.flows import conditioners
from tfnfrl.training import metrics_log, trainer

RECORD = os.path.join(os.path.dirname(__file__), "data", "nf_gcbc_losses_seed0.json")


def train_losses(data_dir, workdir):
    with open(RECORD) as f:
        expected = json.load(f)["losses"]
    trainer.train(tiny_agent_config("nf_gcbc"), tiny_run(data_dir, steps=200, log_every=1, checkpoint_every=200), workdir)
    rows = metrics_log.read_metrics(workdir)
    losses = [r["training/actor/loss"] for r in rows if "training/actor/loss" in r]
    assert len(losses) == len(expected) == 200
    return losses, expected


def test_nf_gcbc_losses_of_updates_1_to_200_are_bit_identical_to_the_record_unfused(tiny_data_dir, tmp_path,
                                                                                     monkeypatch):
    monkeypatch.setattr(conditioners, "FUSED_BY_DEFAULT", False)  # The default; set in case it changes.
    losses, expected = train_losses(tiny_data_dir, str(tmp_path / "run"))
    mismatches = [(i + 1, a, b) for i, (a, b) in enumerate(zip(losses, expected)) if a != b]
    assert not mismatches, f"{len(mismatches)} updates differ; first (step, now, recorded): {mismatches[:3]}"


def test_nf_gcbc_losses_with_fused_conditioners_match_the_record_to_float_rounding(tiny_data_dir, tmp_path,
                                                                                    monkeypatch):
    monkeypatch.setattr(conditioners, "FUSED_BY_DEFAULT", True)
    losses, expected = train_losses(tiny_data_dir, str(tmp_path / "run"))
    # rtol 1e-5 is ~100 float32 ulps: a changed computation (a wrong branch, a missing
    # LayerNorm) moves the loss by far more within a few of the 200 updates.
    np.testing.assert_allclose(losses, expected, rtol=1e-5, atol=0)
