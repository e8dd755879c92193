"""Evaluation variants: trained weights evaluated again under acting-only config changes."""

import os

import numpy as np
import pytest
import tensorflow as tf

from tests.agents import tiny
from tests.training.conftest import ENV
from tests.training.conftest import tiny_run
from tfnfrl import agents, jsonio
from tfnfrl.training import eval_variants, metrics_log, online, study, trainer

SEED = tf.constant([3, 7], tf.int32)


def _no_denoise_mode(agent, observations, goals):
    """The trained agent's z = 0 action without the denoising step, through its own cache."""
    agent.policy.refresh()
    zeros = tf.zeros([observations.shape[0], tiny.ACT])
    actions = agent.frozen_acting.sample(zeros, agent.context(observations, goals))
    return tf.clip_by_value(actions, -1.0, 1.0).numpy()


def test_variants_act_with_the_trained_weights_and_follow_training():
    trained = tiny.tiny_agent("nf_gcbc", seed=0)
    tiny.perturb(trained.head.flow, seed=3)  # Weights no freshly built agent has.
    trained.policy.refresh()
    overrides = {"reference": {"fast_act": False}, "no-denoise": {"denoise": False}}
    variants = eval_variants.VariantAgents(overrides, trained.config, tiny.SPEC, seed=5)
    observations, goals = tiny.agent_inputs(trained)
    synced = dict(variants.synced(trained))
    assert sorted(synced) == ["no-denoise", "reference"]
    trained_mode = trained.policy.act_mode(observations, goals).numpy()
    # Same weights through the training-time path: the trained agent's own actions.
    np.testing.assert_allclose(synced["reference"].policy.policy_fn(seed=0, deterministic=True)(observations, goals),
                               trained_mode, atol=1e-5)
    # Without the denoising step: the flow's own mode, which the denoising step moves.
    no_denoise = synced["no-denoise"].policy.policy_fn(seed=0, deterministic=True)(observations, goals)
    np.testing.assert_allclose(no_denoise, _no_denoise_mode(trained, observations, goals), atol=1e-5)
    assert np.abs(no_denoise - trained_mode).max() > 1e-4

    trained.train_step(tiny.toy_batch(), SEED)
    synced = dict(variants.synced(trained))
    after = synced["reference"].policy.policy_fn(seed=0, deterministic=True)(observations, goals)
    assert np.abs(after - trained_mode).max() > 1e-5
    np.testing.assert_allclose(after, trained.policy.act_mode(observations, goals).numpy(), atol=1e-5)
    # The cached path follows too (its optimizer never steps: `synced` re-derives the cache), eagerly as well.
    np.testing.assert_allclose(synced["no-denoise"].policy.act_mode(observations, goals).numpy(),
                               _no_denoise_mode(trained, observations, goals), atol=1e-5)


@pytest.mark.parametrize("agent, overrides, message", [
    ("nf_gcbc", {"no-denoise": {"batch_size": 8}}, "overrides 'batch_size', which may change what the agent learns"),
    ("nf_gcbc", {"no denoise": {"denoise": False}}, "name 'no denoise': use letters"),
    ("nf_gcbc", {"no.denoise": {"denoise": False}}, "name 'no.denoise': use letters"),
    ("rebrac", {"no-denoise": {"denoise": False}}, "agent 'rebrac' has no field 'denoise'"),
])
def test_variants_that_are_not_acting_only_are_refused(agent, overrides, message):
    with pytest.raises(ValueError, match=message):
        eval_variants.check_variants(overrides, tiny.tiny_config(agent))


def test_copying_weights_between_different_networks_is_refused():
    refusal = (r"^The variant agent's weights do not match the trained agent's: "
               r"a variant may only change acting fields\.$")
    with pytest.raises(ValueError, match=refusal):  # Other weight paths.
        eval_variants.copy_weights(tiny.tiny_agent("nf_gcbc"), tiny.tiny_agent("gcbc"))
    # The same paths with other shapes (a wider flow) are refused too, before any weight is assigned.
    wider_config = tiny.tiny_config("nf_gcbc")
    wider_config.head.hidden_units = 48
    wider = agents.make_agent(wider_config, tiny.SPEC, total_steps=100, seed=1)
    target = tiny.tiny_agent("nf_gcbc")
    assert set(wider.weights_by_path) == set(target.weights_by_path)
    before = {k: w.numpy().copy() for k, w in target.weights_by_path.items()}
    with pytest.raises(ValueError, match=refusal):
        eval_variants.copy_weights(wider, target)
    for key, weight in target.weights_by_path.items():
        np.testing.assert_array_equal(weight.numpy(), before[key], err_msg=key)
    # Matching networks copy every weight.
    source = tiny.tiny_agent("nf_gcbc", seed=2)
    eval_variants.copy_weights(source, target)
    for key, weight in source.weights_by_path.items():
        np.testing.assert_array_equal(target.weights_by_path[key].numpy(), weight.numpy(), err_msg=key)


def test_study_records_variants_as_their_own_rows(tiny_data_dir, tmp_path):
    variants = {"stochastic": {"eval_deterministic": False}}
    run_fields = {"steps": 20, "dataset_dir": tiny_data_dir, "eval_episodes": 1, "eval_tasks": (1,),
                  "log_every": 10, "eval_every": 10}
    run = study.Run.make("gcbc", ENV, preset="tiny", run=dict(run_fields, eval_variants=variants))
    # Evaluation variants change no weights, so they leave the run id alone.
    assert run.run_id == study.Run.make("gcbc", ENV, preset="tiny", run=run_fields).run_id
    root, records = str(tmp_path / "runs"), str(tmp_path / "records")
    study.run_grid([run], root, records)

    rows = metrics_log.read_metrics(os.path.join(root, run.run_id))
    logged = [[r["step"], r["evaluation-stochastic/success/mean"]] for r in rows
              if "evaluation-stochastic/success/mean" in r]
    assert [step for step, _ in logged] == [10, 20]
    main, variant = study.load_records(records)
    assert main["label"] == "gcbc" and variant["label"] == "gcbc@stochastic"
    assert variant["variant_of"] == main["run_id"] and variant["learning_curve"] == logged
    assert variant["success"]["success/mean"] == logged[-1][1]
    assert [step for step, _ in main["learning_curve"]] == [10, 20]
    assert "| gcbc@stochastic |" in study.records_table([main, variant])


def test_grids_may_table_variant_labels(tmp_path):
    grid = tmp_path / "grid.py"
    grid.write_text("from tfnfrl.training.study import Run, Table\n"
                    "RUNS = [Run.make('nf_gcbc', 'maze', label='nf', run={'eval_variants': {'nd': {'denoise': False}}})]\n"
                    "TABLES = [Table('Ablations', ('nf', 'nf@nd'))]\n")
    assert study.read_grid(str(grid)).tables[0].labels == ("nf", "nf@nd")
    grid.write_text(grid.read_text().replace("'nf@nd'", "'nf@other'"))
    with pytest.raises(ValueError, match=r"name labels no run has: \['nf@other'\]"):
        study.read_grid(str(grid))


def _evaluation_steps(workdir, prefix):
    return [r["step"] for r in metrics_log.read_metrics(workdir) if prefix + "success/mean" in r]


def test_a_variant_added_to_a_finished_run_is_evaluated_on_its_final_weights_only(tiny_data_dir, tmp_path):
    run_fields = {"steps": 20, "dataset_dir": tiny_data_dir, "eval_episodes": 1, "eval_tasks": (1,),
                  "log_every": 10, "eval_every": 10}
    plain = study.Run.make("gcbc", ENV, preset="tiny", run=run_fields)
    root, records = str(tmp_path / "runs"), str(tmp_path / "records")
    study.run_grid([plain], root, records)
    workdir = os.path.join(root, plain.run_id)
    with_variant = study.Run.make("gcbc", ENV, preset="tiny",
                                  run=dict(run_fields, eval_variants={"stochastic": {"eval_deterministic": False}}))
    assert hash(with_variant) != hash(plain) and with_variant.run_id == plain.run_id  # Hashable; same weights.
    messages = []
    assert study.run_grid([with_variant], root, records, log=messages.append) == 1
    assert any("evaluating variants ['stochastic']" in m for m in messages)
    assert _evaluation_steps(workdir, "evaluation/") == [10, 20]  # The run's own evaluations, not repeated.
    assert _evaluation_steps(workdir, "evaluation-stochastic/") == [20]
    assert sorted(jsonio.read_json(os.path.join(workdir, trainer.FINAL_EVAL_FILE))["variants"]) == ["stochastic"]
    (main,) = [r for r in study.load_records(records) if not r.get("variant_of")]
    assert main["variants"]["stochastic"]["learning_curve"] == [[20, main["variants"]["stochastic"]["success"][
        "success/mean"]]]
    assert study.run_grid([with_variant], root, records) == 0  # Now complete.


def test_a_resumed_run_makes_up_only_the_evaluations_a_kill_cut_off(tiny_data_dir, tmp_path):
    workdir = str(tmp_path / "run")
    config = tiny_run(tiny_data_dir, steps=30, eval_every=10, eval_episodes=1, eval_tasks=(1,))
    config.eval_variants = {"a": {"eval_deterministic": False}, "b": {"jit_act": False}}
    run = trainer.Trainer(tiny.tiny_config("gcbc"), config, workdir)
    run.variants = eval_variants.VariantAgents(config.eval_variants, run.agent_config, tiny.SPEC)
    run.evaluator = object()  # Only its presence matters to the bookkeeping.
    log = metrics_log.MetricsLog(workdir)
    log.write(10, {"evaluation/success/mean": 0.5})
    log.write(10, {"evaluation-a/success/mean": 0.25})  # Killed before variant b's evaluation.
    log.close()
    assert run._missed_evaluation(10) == (False, ["b"])
    assert run._missed_evaluation(20) == (True, ["a", "b"])
    assert run._missed_evaluation(30) == (False, [])  # The last step is the final evaluation's business.


def test_online_runs_refuse_variants(tmp_path):
    config = tiny_run(None, env_name=ENV, steps=100)
    config.eval_variants = {"a": {"eval_deterministic": False}}
    agent_config = tiny.tiny_config("nf_ugs")
    agent_config.collection.updates_per_unroll = 5
    with pytest.raises(ValueError, match="supported by offline runs only"):
        online.OnlineTrainer(agent_config, config, str(tmp_path / "online"))
