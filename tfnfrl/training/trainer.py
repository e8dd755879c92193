"""The training loop: data -> compiled distributed updates -> logs, checkpoints, evaluations.

Workdir layout:
  config.json        resolved agent + run config and the data dims (written first)
  checkpoints/       ckpt-<step> (tf.train.CheckpointManager)
  metrics.jsonl      {"step": ..., "training/loss": ..., "evaluation/success/mean": ...} rows
  tensorboard/       the same scalars as TensorBoard events
  eval_final.json    the final evaluation (per task, mean, per episode)

Running the same command again resumes from the newest checkpoint and finishes the run; a
finished run only re-prints its final evaluation.
"""

import json
import math
import os
import time

import tensorflow as tf
from absl import logging
from tqdm import tqdm

from tfnfrl import agents
from tfnfrl import data
from tfnfrl import envs
from tfnfrl.envs import registry
from tfnfrl.training import checkpoints
from tfnfrl.training import metrics_log
from tfnfrl.training import run_config as run_config_lib
from tfnfrl.training import strategies
from tfnfrl.training import train_step as train_step_lib

FINAL_EVAL_FILE = "eval_final.json"
CHECKPOINT_DIR = "checkpoints"


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN/inf loss or gradient; the last good checkpoint is untouched."""


def dataset_dims(train_data, goal_conditioned):
    """{"observation_dim", "goal_dim", "action_dim"} of a loaded dataset (goals are observations)."""
    observation_dim = int(train_data["observations"].shape[-1])
    return dict(
        observation_dim=observation_dim,
        goal_dim=observation_dim if goal_conditioned else 0,
        action_dim=int(train_data["actions"].shape[-1]),
    )


def check_goal_dims(evaluator, dims, env_name):
    """Refuse a goal-conditioned agent whose goal size differs from the environment's goals.

    (`tfnfrl.data.load_datasets` already checks observation and action sizes.)
    """
    if dims["goal_dim"] and tuple(evaluator.goal_shape) != (dims["goal_dim"],):
        raise ValueError(
            f"The agent's goals are dataset observations of size {dims['goal_dim']}, but {env_name}'s "
            f"evaluation goals have shape {tuple(evaluator.goal_shape)}."
        )


class Trainer:
    """Trains one agent on one OGBench dataset in `workdir` (see the module docstring).

    Args:
      agent_config: the agent's ConfigDict (`tfnfrl.agents.get_config(name)`, overridden).
      run_config: `tfnfrl.training.run_config.get_run_config()`, overridden.
      workdir: the run's directory (created if missing).
    """

    def __init__(self, agent_config, run_config, workdir):
        agents.check_agent_name(agent_config.agent_name)
        registry.check_env_name(run_config.env_name)
        if run_config.strategy not in strategies.STRATEGIES:
            raise ValueError(f"Unknown strategy {run_config.strategy!r}; expected one of {strategies.STRATEGIES}.")
        for key in ("steps", "log_every", "checkpoint_every"):
            if run_config[key] < 1:
                raise ValueError(f"run config `{key}` must be >= 1. Received: {key}={run_config[key]}")
        for key in ("eval_every", "eval_episodes"):
            if run_config[key] < 0:
                raise ValueError(f"run config `{key}` must be >= 0. Received: {key}={run_config[key]}")
        self.agent_config = agent_config
        self.config = run_config
        self.workdir = workdir
        self.evaluator = None
        self.eval_task_ids = None

    # ------------------------------------------------------------------ pieces
    def build_agent(self, dims):
        """The agent to train (called inside the strategy's scope)."""
        return agents.make_agent(
            self.agent_config,
            dims["observation_dim"],
            dims["goal_dim"],
            dims["action_dim"],
            total_steps=self.config.steps,
            seed=self.config.seed,
        )

    def load_data(self):
        """(train, val) dataset dicts through tfnfrl.data."""
        return data.load_datasets(self.config.env_name, self.config.dataset_dir)

    def make_sampler(self, dataset, seed):
        """GCSampler with the agent's goal sampling (`config.sampler` overrides its defaults).

        Agents that are not goal-conditioned use it too and ignore `actor_goals`: it samples
        transitions uniformly from any dataset (TransitionSampler needs singletask rewards).
        """
        sampler_config = data.gc_sampler_config()
        sampler_config.update(self.agent_config.sampler)
        return data.GCSampler(dataset, sampler_config, seed)

    def make_evaluator(self):
        """One set of evaluation envs, reused by every evaluation of the run."""
        return envs.Evaluator(self.config.env_name, episodes_per_task=self.config.eval_episodes)

    def check_eval_tasks(self):
        """The task ids to evaluate, checked before training rather than after it.

        Singletask envs have one fixed task, whatever `eval_tasks` says (None selects it).
        """
        if self.evaluator.fixed_task_id is not None:
            return None
        tasks = [int(t) for t in self.config.eval_tasks]
        valid = list(range(1, self.evaluator.num_tasks + 1))
        if not tasks or any(t not in valid for t in tasks):
            raise ValueError(f"eval_tasks={tasks} for {self.config.env_name}; expected ids among {valid}.")
        return tasks

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, agent, step, log):
        """Evaluate the current policy; log "evaluation/..." scalars at `step`; return the result."""
        policy = agent.policy_fn(seed=self.config.seed)
        result = self.evaluator(policy, task_ids=self.eval_task_ids, seed=self.config.seed, progress=self.config.progress)
        log.write(step, {f"evaluation/{k}": v for k, v in envs.scalar_metrics(result).items()})
        return result

    def write_final(self, result, step):
        """Write `eval_final.json` (atomically) and return its path."""
        path = os.path.join(self.workdir, FINAL_EVAL_FILE)
        payload = dict(result, step=int(step), agent=self.agent_config.agent_name, env_name=self.config.env_name)
        with open(path + ".tmp", "w") as f:
            json.dump(payload, f, indent=2, sort_keys=True)
        os.replace(path + ".tmp", path)
        return path

    # ------------------------------------------------------------------ the loop
    def run(self):
        """Train (or resume) to `steps` updates; returns the final evaluation dict ({} if disabled)."""
        cfg = self.config
        os.makedirs(self.workdir, exist_ok=True)
        train_data, val_data = self.load_data()
        dims = dataset_dims(train_data, self.agent_config.goal_conditioned)
        run_config_lib.check_compatible(self.workdir, self.agent_config, cfg, dims)
        if cfg.eval_episodes > 0:
            self.evaluator = self.make_evaluator()
            check_goal_dims(self.evaluator, dims, cfg.env_name)
            self.eval_task_ids = self.check_eval_tasks()
        run_config_lib.save(self.workdir, self.agent_config, cfg, dims)

        strategy = strategies.make_strategy(cfg.strategy)
        with strategy.scope():
            agent = self.build_agent(dims)
        checkpointer = checkpoints.Checkpointer(
            os.path.join(self.workdir, CHECKPOINT_DIR), agent, seed=cfg.seed, max_to_keep=cfg.keep_checkpoints
        )
        start = checkpointer.restore()
        if start:
            logging.info("Resuming from %s (step %d).", checkpointer.latest, start)
        log = metrics_log.MetricsLog(self.workdir)
        log.truncate_after(start)
        try:
            if self._missed_evaluation(start):
                self.evaluate(agent, start, log)  # Killed between that checkpoint and its evaluation.
            if start < cfg.steps:
                self._train(agent, strategy, checkpointer, log, train_data, val_data, start)
            return self._final_evaluation(agent, log)
        finally:
            log.close()
            if self.evaluator is not None:
                self.evaluator.close()

    def _missed_evaluation(self, step):
        cfg = self.config
        if not (self.evaluator is not None and cfg.eval_every and step and step % cfg.eval_every == 0 and step < cfg.steps):
            return False
        rows = metrics_log.read_metrics(self.workdir)
        return not any(r["step"] == step and "evaluation/success/mean" in r for r in rows)

    def _final_evaluation(self, agent, log):
        path = os.path.join(self.workdir, FINAL_EVAL_FILE)
        if self.evaluator is None:
            return {}
        if os.path.exists(path):
            with open(path) as f:
                result = json.load(f)
            if result.get("step") == self.config.steps:
                return result
        result = self.evaluate(agent, self.config.steps, log)
        self.write_final(result, self.config.steps)
        return result

    def _train(self, agent, strategy, checkpointer, log, train_data, val_data, start):
        cfg = self.config
        batch_size = int(self.agent_config.batch_size)
        if batch_size % strategy.num_replicas_in_sync:
            raise ValueError(
                f"batch_size={batch_size} must be divisible by the {strategy.num_replicas_in_sync} replicas."
            )
        sampler = self.make_sampler(train_data, cfg.seed)
        val_sampler = self.make_sampler(val_data, cfg.seed + 1)
        batches = iter(data.make_tf_dataset(sampler, batch_size, start_step=start, strategy=strategy))
        update = train_step_lib.make_train_step(agent, strategy, batch_size, cfg.seed, jit_compile=cfg.jit_compile)
        validation = tf.function(agent.validation_metrics, jit_compile=cfg.jit_compile)

        window_start, window_steps = time.perf_counter(), 0
        bar = tqdm(total=cfg.steps, initial=start, unit="step", desc=f"train {self.agent_config.agent_name}",
                   disable=not cfg.progress, dynamic_ncols=True, mininterval=1.0)
        with bar:
            for step in range(start, cfg.steps):
                info = update(next(batches), tf.constant(step, tf.int64))
                done = step + 1
                loss, grad_norm = float(info["loss"]), float(info["grad_norm"])
                if not (math.isfinite(loss) and math.isfinite(grad_norm)):
                    self._stop_non_finite(done, loss, grad_norm, checkpointer)
                bar.update(1)
                window_steps += 1
                if done % cfg.log_every == 0 or done == cfg.steps:
                    elapsed = time.perf_counter() - window_start
                    val_batch = val_sampler.sample(batch_size, step)
                    metrics = {f"training/{k}": float(v) for k, v in info.items()}
                    metrics["training/learning_rate"] = float(tf.convert_to_tensor(agent.optimizer.learning_rate))
                    metrics["training/steps_per_second"] = window_steps / max(elapsed, 1e-9)
                    metrics.update({f"validation/{k}": float(v) for k, v in validation(val_batch).items()})
                    log.write(done, metrics)
                    bar.set_postfix(loss=f"{loss:.3f}", val=f"{metrics['validation/loss']:.3f}")
                    window_start, window_steps = time.perf_counter(), 0
                if done % cfg.checkpoint_every == 0 or done == cfg.steps:
                    checkpointer.save(done)
                if self.evaluator is not None and cfg.eval_every and done % cfg.eval_every == 0 and done < cfg.steps:
                    self.evaluate(agent, done, log)
                    window_start, window_steps = time.perf_counter(), 0

    def _stop_non_finite(self, done, loss, grad_norm, checkpointer):
        latest = checkpointer.latest
        where = (
            f"The last good checkpoint, {latest} (step {int(latest.rsplit('-', 1)[-1])}), is intact"
            if latest
            else "No checkpoint had been saved yet"
        )
        raise NonFiniteLossError(
            f"Non-finite training loss at step {done} (loss={loss}, grad_norm={grad_norm}); the run stopped "
            f"without saving. {where}. Lower the learning rate (--config.optimizer.lr) or enable "
            "--config.optimizer.global_clipnorm, then rerun the same command to resume from it."
        )


def train(agent_config, run_config, workdir):
    """Train `agent_config` per `run_config` in `workdir` (resuming if possible); returns the final eval."""
    return Trainer(agent_config, run_config, workdir).run()

