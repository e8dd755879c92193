"""The training loop in-process: exact resume, non-finite loss, config and data checks."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.training.conftest import ENV, tiny_agent_config, tiny_run
from tfnfrl import envs
from tfnfrl.agents import bc_agent
from tfnfrl.agents import policy as policy_lib
from tfnfrl.data.generation import generate_dataset
from tfnfrl.training import metrics_log, restore, trainer


def _weights(workdir):
    reader = tf.train.load_checkpoint(os.path.join(workdir, "checkpoints"))
    names = sorted(n for n in reader.get_variable_to_shape_map() if n.startswith("agent/"))
    return {n: reader.get_tensor(n) for n in names}


def test_resumed_run_equals_uninterrupted_run(tiny_data_dir, tmp_path):
    """Stopping after 10 of 20 steps and rerunning gives bit-identical weights and logs."""
    full, split = str(tmp_path / "full"), str(tmp_path / "split")
    trainer.train(tiny_agent_config(), tiny_run(tiny_data_dir), full)
    trainer.train(tiny_agent_config(), tiny_run(tiny_data_dir, steps=10), split)
    # Resume with the full length (`steps` may change between a run and its resumption;
    # the learning-rate horizon here is constant: no warm-up, constant lr).
    trainer.train(tiny_agent_config(), tiny_run(tiny_data_dir), split)
    a, b = _weights(full), _weights(split)
    assert a.keys() == b.keys() and len(a) > 10
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    losses = lambda w: [(r["step"], r["training/actor/loss"]) for r in metrics_log.read_metrics(w)]  # noqa: E731
    assert losses(full) == losses(split)
    with open(os.path.join(split, "config.json")) as f:
        assert json.load(f)["agent"]["agent_name"] == "gcbc"
    run = restore.restore_run(split)
    assert run.step == 20 and run.dims == dict(observation_dim=2, goal_dim=2, action_dim=2, action_low=-1.0, action_high=1.0, reward_abs_max=0.0)


class _ExplodingAgent(bc_agent.BCAgent):
    """Its loss turns NaN from the 10th update on."""

    def loss(self, batch, seed):
        per_example, info = super().loss(batch, seed)
        per_example = tf.where(self.optimizer.iterations >= 9, np.float32("nan"), per_example)
        return per_example, dict(info, loss=tf.reduce_mean(per_example))


class _ExplodingTrainer(trainer.Trainer):
    def build_agent(self, spec):
        networks = bc_agent.make_networks(self.agent_config, spec, self.config.seed)
        return _ExplodingAgent(self.agent_config, spec, networks, total_steps=self.config.steps)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tiny_data_dir, tmp_path):
    workdir = str(tmp_path / "nan")
    with pytest.raises(trainer.NonFiniteLossError) as error:
        _ExplodingTrainer(tiny_agent_config(), tiny_run(tiny_data_dir), workdir).run()
    message = str(error.value)
    checkpoint = os.path.join(workdir, "checkpoints", "ckpt-5")
    assert "step 10" in message and "actor/loss=nan" in message and checkpoint in message and "intact" in message
    # Update 10 would have been saved (checkpoint_every=5) had the loss been checked after saving.
    assert tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints")) == checkpoint
    assert all(np.all(np.isfinite(v)) for v in _weights(workdir).values())
    assert max(r["step"] for r in metrics_log.read_metrics(workdir)) == 5
    assert not os.path.exists(os.path.join(workdir, trainer.FINAL_EVAL_FILE))


def test_workdir_with_another_config_is_refused(tiny_data_dir, tmp_path):
    workdir = str(tmp_path / "run")
    trainer.train(tiny_agent_config("gcbc"), tiny_run(tiny_data_dir, steps=5), workdir)
    other = tiny_agent_config("gcbc", lr=1e-2)
    with pytest.raises(ValueError, match=r"agent.optimizer.lr: 0.001 -> 0.01\).*new --workdir"):
        trainer.train(other, tiny_run(tiny_data_dir, steps=10), workdir)


def test_a_run_saved_before_a_config_field_existed_resumes_at_the_fields_default(tiny_data_dir, tmp_path):
    workdir = str(tmp_path / "run")
    trainer.train(tiny_agent_config("gcbc"), tiny_run(tiny_data_dir, steps=5), workdir)
    path = os.path.join(workdir, "config.json")
    with open(path) as f:
        saved = json.load(f)
    assert saved["agent"]["head"].pop("layer_norm") is False  # As if written before `head.layer_norm` existed.
    with open(path, "w") as f:
        json.dump(saved, f)
    changed = tiny_agent_config("gcbc")
    changed.head.layer_norm = True  # Not the default: the old run did not have it.
    with pytest.raises(ValueError, match=r"agent.head.layer_norm: None -> True"):
        trainer.train(changed, tiny_run(tiny_data_dir, steps=10), workdir)
    trainer.train(tiny_agent_config("gcbc"), tiny_run(tiny_data_dir, steps=8), workdir)
    assert max(r["step"] for r in metrics_log.read_metrics(workdir)) == 8


def test_extending_a_run_whose_learning_rate_decays_over_steps_is_refused(tiny_data_dir, tmp_path):
    workdir = str(tmp_path / "run")
    decaying = tiny_agent_config("gcbc")
    decaying.optimizer.final_lr = decaying.optimizer.lr / 10
    trainer.train(decaying, tiny_run(tiny_data_dir, steps=5), workdir)
    with pytest.raises(ValueError, match=r"run.steps: 5 -> 10, but the learning rate of optimizer decays"):
        trainer.train(decaying, tiny_run(tiny_data_dir, steps=10), workdir)


def test_dataset_with_wrong_dimensions_is_refused(tmp_path):
    directory = str(tmp_path / "data")
    generate_dataset(ENV, directory, num_episodes=2, episode_length=20, progress=False)
    path = os.path.join(directory, f"{ENV}.npz")
    arrays = dict(np.load(path))
    arrays["observations"] = np.concatenate([arrays["observations"]] * 2, axis=-1)  # 2 -> 4 dims.
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=r"observations has shape \(\d+, 4\)"):
        trainer.train(tiny_agent_config(), tiny_run(directory), str(tmp_path / "run"))


def test_metrics_log_truncates_rows_after_the_restored_step(tmp_path):
    log = metrics_log.MetricsLog(str(tmp_path))
    for step in (5, 10, 15):
        log.write(step, {"training/loss": float(step)})
    log.truncate_after(10)
    log.close()
    assert [r["step"] for r in metrics_log.read_metrics(str(tmp_path))] == [5, 10]
    assert os.listdir(tmp_path / "tensorboard")


def test_invalid_eval_tasks_are_refused_before_training(tiny_data_dir, tmp_path):
    workdir = str(tmp_path / "run")
    with pytest.raises(ValueError, match=r"eval_tasks=\[1, 9\]"):
        trainer.train(tiny_agent_config(), tiny_run(tiny_data_dir, eval_episodes=1, eval_tasks=(1, 9)), workdir)
    assert not os.path.exists(os.path.join(workdir, "checkpoints"))


def _nan_on_third_call(monkeypatch):
    """Makes every policy_fn return a NaN action for episode 0 on its third call."""
    original = policy_lib.Policy.policy_fn

    def policy_fn(self, seed=0, deterministic=None):
        act, calls = original(self, seed=seed, deterministic=deterministic), []

        def nan_once(observations, goals):
            actions = np.array(act(observations, goals))
            calls.append(None)
            if len(calls) == 3:
                actions[0] = np.nan
            return actions

        return nan_once

    monkeypatch.setattr(policy_lib.Policy, "policy_fn", policy_fn)


def test_a_non_finite_action_fails_its_episode_and_the_run_goes_on(tiny_data_dir, tmp_path, monkeypatch):
    _nan_on_third_call(monkeypatch)
    evaluating = dict(eval_episodes=2, eval_tasks=(1,), eval_every=10)
    workdir = str(tmp_path / "fail")
    result = trainer.train(tiny_agent_config(), tiny_run(tiny_data_dir, **evaluating), workdir)
    assert result["nonfinite_episodes/total"] == 1 and result["episode_lengths"]["task1"][0] == 2
    assert result["episode_success"]["task1"][0] == 0.0
    logged = [(r["step"], r["evaluation/nonfinite_episodes/total"]) for r in metrics_log.read_metrics(workdir)
              if "evaluation/nonfinite_episodes/total" in r]
    assert logged == [(10, 1), (20, 1)]
    # nonfinite_actions=raise stops the run at its first evaluation, naming where; update 10 is saved.
    workdir = str(tmp_path / "raise")
    with pytest.raises(envs.NonFiniteActionError, match=r"task 1, step 2, for episodes \[0\]"):
        trainer.train(tiny_agent_config(), tiny_run(tiny_data_dir, nonfinite_actions="raise", **evaluating), workdir)
    assert tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints")).endswith("ckpt-10")
    with pytest.raises(ValueError, match=r"Unknown nonfinite_actions 'ignore'; expected one of \('raise', 'fail'\)"):
        trainer.Trainer(tiny_agent_config(), tiny_run(tiny_data_dir, nonfinite_actions="ignore"), str(tmp_path / "x"))
    assert not os.path.exists(tmp_path / "x")
