"""The training loop: data -> compiled distributed updates -> logs, checkpoints, evaluations.

Workdir layout:
  config.json        resolved agent + run config and the data spec (written first)
  checkpoints/       ckpt-<step> (tf.train.CheckpointManager): networks, targets, optimizers
  metrics.jsonl      {"step": ..., "training/actor/loss": ..., "evaluation/success/mean": ...} rows
  tensorboard/       the same scalars as TensorBoard events
  eval_final.json    the final evaluation (per task, mean, per episode)

Running the same command again resumes from the newest checkpoint and finishes the run; a
finished run only re-prints its final evaluation.

Updates run `steps_per_loop` at a time inside one compiled call, cut short so that every log,
checkpoint and evaluation step ends a call: the run is the same for any `steps_per_loop`.

Under `strategy=multi_worker` every worker runs the same command (its own TF_CONFIG); the chief
alone writes the files above and evaluates, the others train and write nothing (their
checkpoint saves go to deleted temporary directories). A resumed run restores the chief's
newest checkpoint on every worker. Each worker draws its share of every batch from its own
input stream, so a run is a pure function of (seed, step, number of workers).
"""

import math
import os
import time

import tensorflow as tf
from absl import logging
from tqdm import tqdm

from tfnfrl import agents
from tfnfrl import data
from tfnfrl.data import graph_samplers
from tfnfrl import envs
from tfnfrl import jsonio
from tfnfrl.envs import registry
from tfnfrl.training import checkpoints
from tfnfrl.training import eval_variants
from tfnfrl.training import feeds
from tfnfrl.training import metrics_log
from tfnfrl.training import run_config as run_config_lib
from tfnfrl.training import strategies
from tfnfrl.training import train_step as train_step_lib

FINAL_EVAL_FILE = "eval_final.json"
CHECKPOINT_DIR = "checkpoints"


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN/inf metric (loss, gradient norm, Q-value, ...); the last good checkpoint is untouched."""


class DivergenceError(NonFiniteLossError):
    """Training metrics stayed finite but left the range the learner allows (e.g. a diverging critic)."""


def check_goal_dims(evaluator, spec, env_name):
    """Refuse an agent whose goal size differs from the environment's goals.

    (`tfnfrl.data.load_datasets` already checks observation and action sizes.)
    """
    if spec.goal_dim and tuple(evaluator.goal_shape) != (spec.goal_dim,):
        raise ValueError(
            f"The agent's goals are dataset observations of size {spec.goal_dim}, but {env_name}'s "
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
        if run_config.input not in run_config_lib.INPUTS:
            raise ValueError(f"Unknown input {run_config.input!r}; expected one of {run_config_lib.INPUTS}.")
        if run_config.get("nonfinite_actions", "fail") not in envs.NONFINITE_ACTIONS:
            raise ValueError(f"Unknown nonfinite_actions {run_config.nonfinite_actions!r}; expected one of "
                             f"{envs.NONFINITE_ACTIONS}.")
        if run_config.strategy == "tpu" and run_config.input != "graph":
            raise ValueError("--run.strategy=tpu needs --run.input=graph: a TPU host cannot run numpy_function.")
        for key in ("steps", "log_every", "checkpoint_every", "steps_per_loop"):
            if run_config[key] < 1:
                raise ValueError(f"run config `{key}` must be >= 1. Received: {key}={run_config[key]}")
        for key in ("eval_every", "eval_episodes"):
            if run_config[key] < 0:
                raise ValueError(f"run config `{key}` must be >= 0. Received: {key}={run_config[key]}")
        eval_variants.check_variants(run_config.get("eval_variants", {}), agent_config)
        checkpoints.check_directory(workdir)  # Before anything is written there.
        self.agent_config = agent_config
        self.config = run_config
        self.workdir = workdir
        data.sources.check_data_source(run_config.data_source)
        self.feed = agents.feed(agent_config.agent_name)
        feeds.check_feed(self.feed)
        self.evaluator = None
        self.eval_task_ids = None
        self.variants = None  # eval_variants.VariantAgents, when evaluating.
        self.chief = True  # False on a non-chief worker of a multi-worker run (set by `run`).

    # ------------------------------------------------------------------ pieces
    def build_agent(self, spec):
        """The learner to train (called inside the strategy's scope)."""
        return agents.make_agent(self.agent_config, spec, total_steps=self.config.steps, seed=self.config.seed)

    def load_data(self):
        """(train, val) dataset dicts through tfnfrl.data."""
        return data.load_datasets(self.config.env_name, self.config.dataset_dir, data_source=self.config.data_source)

    def make_evaluator(self):
        """One set of evaluation envs, reused by every evaluation of the run."""
        kwargs = {}
        if self.config.get("eval_workers") is not None:
            kwargs["num_workers"] = self.config.eval_workers
        return envs.Evaluator(self.config.env_name, episodes_per_task=self.config.eval_episodes, **kwargs)

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
    def evaluate(self, agent, step, log, main=True, variants=None):
        """Evaluate the current policy and each evaluation variant on its weights; log "evaluation/..."
        and "evaluation-<variant>/..." scalars at `step`; return the result, with {"variants": {name:
        result}} when there are variants. `main=False` / `variants=[names]` evaluate only those (a
        resumed run making up what a kill interrupted; None: every variant)."""
        result = self._evaluate_policy(agent, step, log, "evaluation/") if main else {}
        if self.variant_names:
            result["variants"] = {name: self._evaluate_policy(variant, step, log, eval_variants.metric_prefix(name))
                                  for name, variant in self.variants.synced(agent, variants)}
        return result

    def _evaluate_policy(self, agent, step, log, prefix):
        policy = agent.policy.policy_fn(seed=self.config.seed)
        result = self.evaluator(policy, task_ids=self.eval_task_ids, seed=self.config.seed, progress=self.config.progress,
                                nonfinite_actions=self.config.get("nonfinite_actions", "fail"))
        log.write(step, {prefix + k: v for k, v in envs.scalar_metrics(result).items()})
        failed = result.get("nonfinite_episodes/total", 0)
        if failed:
            logging.warning("%s at step %d: %d of %d episodes ended on a non-finite action and count as failures "
                            "(%s).", prefix.rstrip("/"), step, failed, len(result["task_ids"]) * result["episodes_per_task"],
                            ", ".join(f"task{t}: {result[f'nonfinite_episodes/task{t}']}" for t in result["task_ids"]))
        return result

    def write_final(self, result, step):
        """Write `eval_final.json` (atomically) and return its path."""
        payload = dict(result, step=int(step), agent=self.agent_config.agent_name, env_name=self.config.env_name)
        return jsonio.write_json(os.path.join(self.workdir, FINAL_EVAL_FILE), payload)

    # ------------------------------------------------------------------ the loop
    def run(self):
        """Train (or resume) to `steps` updates; returns the final evaluation dict ({} if disabled)."""
        cfg = self.config
        # First: a multi-worker strategy must start before TensorFlow runs anything else.
        strategy = strategies.make_strategy(cfg.strategy, cfg.tpu)
        self.chief = strategies.is_chief(strategy)
        if self.chief:
            os.makedirs(self.workdir, exist_ok=True)
        train_data, val_data = self.load_data()
        spec = agents.EnvSpec.from_dataset(train_data)
        run_config_lib.check_compatible(self.workdir, self.agent_config, cfg, spec.to_dict())
        if cfg.eval_episodes > 0 and self.chief:
            self.evaluator = self.make_evaluator()
            if self.agent_config.get("goal_conditioned", False):
                check_goal_dims(self.evaluator, spec, cfg.env_name)
            self.eval_task_ids = self.check_eval_tasks()
            self.variants = eval_variants.VariantAgents(cfg.get("eval_variants", {}), self.agent_config, spec,
                                                        seed=cfg.seed)
        if self.chief:
            provenance = data.dataset_provenance(cfg.env_name, cfg.dataset_dir)
            run_config_lib.save(self.workdir, self.agent_config, cfg, spec.to_dict(), extra=dict(data=provenance))

        with strategy.scope():
            agent = self.build_agent(spec)
        checkpointer = checkpoints.Checkpointer(
            os.path.join(self.workdir, CHECKPOINT_DIR), agent, seed=cfg.seed, max_to_keep=cfg.keep_checkpoints,
            writes=self.chief, label=strategies.task_label(strategy),
        )
        if cfg.strategy == "multi_worker":
            start = checkpointer.restore_from_chief(strategy)
        else:
            start = checkpointer.restore()
        if start:
            logging.info("Resuming from %s (step %d).", checkpointer.latest or "the chief's checkpoint", start)
        log = metrics_log.MetricsLog(self.workdir) if self.chief else metrics_log.NoLog()
        log.truncate_after(start)
        try:
            main_missed, variants_missed = self._missed_evaluation(start)
            if main_missed or variants_missed:  # Killed between that checkpoint and (part of) its evaluation.
                self.evaluate(agent, start, log, main=main_missed, variants=variants_missed)
            if start < cfg.steps:
                self._train(agent, strategy, checkpointer, log, train_data, val_data, start)
            result = self._final_evaluation(agent, log)
            if cfg.strategy == "multi_worker":
                strategies.barrier(strategy)  # The other workers wait for the chief's final evaluation.
            return result
        finally:
            log.close()
            if self.evaluator is not None:
                self.evaluator.close()

    @property
    def variant_names(self):
        """The evaluation variants' names ([] when there are none, or no evaluator: e.g. online runs)."""
        return self.variants.names if self.variants is not None else []

    def _missed_evaluation(self, step):
        """(main evaluation missing, [variant names missing]) at a periodic evaluation `step`."""
        cfg = self.config
        if not (self.evaluator is not None and cfg.eval_every and step and step % cfg.eval_every == 0 and step < cfg.steps):
            return False, []
        logged = {key for r in metrics_log.read_metrics(self.workdir) if r["step"] == step for key in r}
        return ("evaluation/success/mean" not in logged,
                [n for n in self.variant_names if eval_variants.metric_prefix(n) + "success/mean" not in logged])

    def _final_evaluation(self, agent, log):
        """The final evaluation: read from eval_final.json when the run finished before, with any
        evaluation variant it lacks (added to the run since, or cut off by a kill) evaluated now."""
        path = os.path.join(self.workdir, FINAL_EVAL_FILE)
        if self.evaluator is None:
            return {}
        result = jsonio.read_json(path) if os.path.exists(path) else {}
        if result.get("step") != self.config.steps:
            result = self.evaluate(agent, self.config.steps, log, variants=[])
            self.write_final(result, self.config.steps)  # Before the variants: a kill during them keeps it.
        missing = [n for n in self.variant_names if n not in result.get("variants", {})]
        if missing:
            variants = dict(result.get("variants", {}))
            variants.update(self.evaluate(agent, self.config.steps, log, main=False, variants=missing)["variants"])
            result = dict(result, variants=variants)
            self.write_final({k: v for k, v in result.items() if k not in ("step", "agent", "env_name")},
                             self.config.steps)
        return result

    def _loop_length(self, step):
        """Updates in the compiled call starting after `step` updates: up to `steps_per_loop`, ending at the next
        log, checkpoint or evaluation step (the same on every worker) or at the end."""
        cfg = self.config
        periods = [cfg.log_every, cfg.checkpoint_every]
        if cfg.eval_episodes > 0 and cfg.eval_every:
            periods.append(cfg.eval_every)
        end = min([cfg.steps] + [(step // every + 1) * every for every in periods])
        return min(cfg.steps_per_loop, end - step)

    def input_batches(self, strategy, sampler, batch_size, start):
        """What the train loop reads: an iterator of the (distributed) tf.data pipeline, or the in-graph sampler."""
        cfg = self.config
        default = strategies.is_single_replica_default(strategy)
        if cfg.input == "graph":
            sampler = graph_samplers.from_numpy(sampler)
            if default:
                return sampler  # Drawn inside the compiled loop.
        return iter(data.make_tf_dataset(sampler, batch_size, start_step=start, strategy=None if default else strategy))

    def _train(self, agent, strategy, checkpointer, log, train_data, val_data, start):
        cfg = self.config
        batch_size = int(self.agent_config.batch_size)
        if batch_size % strategy.num_replicas_in_sync:
            raise ValueError(
                f"batch_size={batch_size} must be divisible by the {strategy.num_replicas_in_sync} replicas."
            )
        sampler = feeds.make_sampler(self.feed, self.agent_config, train_data, cfg.seed)
        val_sampler = feeds.make_sampler(self.feed, self.agent_config, val_data, cfg.seed + 1)
        batches = self.input_batches(strategy, sampler, batch_size, start)
        train_loop = train_step_lib.make_train_loop(
            agent, strategy, batch_size, cfg.seed, batches, jit_compile=cfg.jit_compile
        )
        validation = tf.function(agent.validation_metrics, jit_compile=cfg.jit_compile)
        first_loss = f"{agent.loss_groups[0].name}/loss"

        window_start, window_steps = time.perf_counter(), 0
        bar = tqdm(total=cfg.steps, initial=start, unit="step", desc=f"train {self.agent_config.agent_name}",
                   disable=not (cfg.progress and self.chief), dynamic_ncols=True, mininterval=1.0)
        done = start
        with bar:
            while done < cfg.steps:
                num_steps = self._loop_length(done)
                info = {k: float(v) for k, v in train_loop(done, num_steps).items()}
                step, done = done + num_steps - 1, done + num_steps  # `step`: the last update's index.
                self._check_metrics(agent, done, info, checkpointer, num_steps)
                bar.update(num_steps)
                window_steps += num_steps
                if self.chief and (done % cfg.log_every == 0 or done == cfg.steps):
                    elapsed = time.perf_counter() - window_start
                    metrics = {f"training/{k}": v for k, v in info.items()}
                    for group in agent.loss_groups:
                        learning_rate = float(tf.convert_to_tensor(group.optimizer.learning_rate))
                        metrics[f"training/{group.name}/learning_rate"] = learning_rate
                    metrics["training/steps_per_second"] = window_steps / max(elapsed, 1e-9)
                    val_metrics = validation(val_sampler.sample(batch_size, step))
                    metrics.update({f"validation/{k}": float(v) for k, v in val_metrics.items()})
                    log.write(done, metrics)
                    postfix = {"loss": f"{info[first_loss]:.3f}"}
                    if f"validation/{first_loss}" in metrics:
                        postfix["val"] = f"{metrics[f'validation/{first_loss}']:.3f}"
                    bar.set_postfix(**postfix)
                    window_start, window_steps = time.perf_counter(), 0
                if done % cfg.checkpoint_every == 0 or done == cfg.steps:
                    checkpointer.save(done)
                if self.evaluator is not None and cfg.eval_every and done % cfg.eval_every == 0 and done < cfg.steps:
                    self.evaluate(agent, done, log)
                    window_start, window_steps = time.perf_counter(), 0

    def _check_metrics(self, agent, done, info, checkpointer, num_steps=1):
        """Stop (without saving) on a non-finite metric of any loss group, or on the learner's divergence check.

        The metrics are those of the last of the call's `num_steps` updates (a NaN earlier in the
        call carries into the weights, and so into them), so the error names the call's range of
        updates; `--run.steps_per_loop=1` pins the exact one."""
        bad = {k: v for k, v in info.items() if not math.isfinite(v)}
        problem = (
            f"non-finite training metrics ({', '.join(f'{k}={v}' for k, v in sorted(bad.items()))})" if bad
            else agent.check_metrics(info)
        )
        if problem is None:
            return
        latest = checkpointer.latest
        where = (
            f"The last good checkpoint, {latest} (step {int(latest.rsplit('-', 1)[-1])}), is intact"
            if latest
            else "No checkpoint had been saved yet"
        )
        error = NonFiniteLossError if bad else DivergenceError
        when = (f"step {done}" if num_steps == 1 else
                f"step {done} (checked once per compiled call of --run.steps_per_loop updates: the problem began "
                f"in updates {done - num_steps + 1}-{done}; steps_per_loop=1 finds the exact one)")
        raise error(
            f"Training stopped at {when}: {problem}; the run stopped without saving. {where}. Lower the "
            "learning rate (--config.optimizer.lr) or enable --config.optimizer.global_clipnorm, then rerun the "
            "same command to resume from it."
        )


def train(agent_config, run_config, workdir):
    """Train `agent_config` per `run_config` in `workdir` (resuming if possible); returns the final eval.

    Agents that collect their own data (FEED "online") go through `tfnfrl.training.online`.
    """
    if agents.feed(agent_config.agent_name) == feeds.ONLINE_FEED:
        from tfnfrl.training import online  # pylint: disable=import-outside-toplevel

        return online.OnlineTrainer(agent_config, run_config, workdir).run()
    return Trainer(agent_config, run_config, workdir).run()
