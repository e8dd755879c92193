"""Online training: N envs in worker processes collect into a replay buffer; the learner updates in bursts.

Used for agents whose FEED is "online" (NF-UGS). One *round* = every env plays one episode
of `collection.episode_length` steps in lockstep, all reset together (seeds are a pure
function of (seed, round, env)); the episode is played in unrolls of `unroll_length` steps,
each preceded by choosing every env's exploration goal (held for the unroll) and followed
by `updates_per_unroll` gradient updates on replay batches (a batch is a pure function of
(seed, update) and the buffer). `run.steps` counts updates; env steps = updates /
updates_per_unroll * unroll_length * num_envs.

Checkpoints (learner, replay buffer, coverage counts) are written at round ends only, the
first round end at or after each multiple of `checkpoint_every` updates, so a resumed run
(rerun the same command, even after kill -9) continues exactly as the uninterrupted one: at
most the round in progress is recomputed. Evaluation (OGBench's 5 tasks, tanh(mean) acting)
runs at the round ends after each multiple of `eval_every` and at the end, and writes a
PNG of visited cells and the learned log p(g) over the maze.
"""

import math
import os
import time

import numpy as np
import tensorflow as tf
from absl import logging
from tqdm import tqdm

from tfnfrl import agents
from tfnfrl import envs
from tfnfrl import jsonio
from tfnfrl.data import replay as replay_lib
from tfnfrl.envs import coverage as coverage_lib
from tfnfrl.envs import env_pool
from tfnfrl.training import checkpoints
from tfnfrl.training import metrics_log
from tfnfrl.training import run_config as run_config_lib
from tfnfrl.training import train_step as train_step_lib
from tfnfrl.training import trainer as trainer_lib

REPLAY_PREFIX = "replay_step"
COVERAGE_PNG = "coverage.png"


def rounds_needed(total_updates, collection):
    """Rounds (episodes per env) needed for `total_updates` updates."""
    per_round = updates_per_round(collection)
    return math.ceil(total_updates / per_round)


def updates_per_round(collection):
    unrolls = collection.episode_length // collection.unroll_length
    return unrolls * collection.updates_per_unroll


def check_collection(collection, steps):
    """Raise ValueError unless the collection settings and the update budget `steps` are consistent."""
    for key in ("num_envs", "episode_length", "unroll_length", "updates_per_unroll", "capacity_episodes"):
        if int(collection[key]) < 1:
            raise ValueError(f"collection.{key} must be >= 1. Received: {collection[key]}")
    if collection.episode_length % collection.unroll_length:
        raise ValueError(f"collection.episode_length={collection.episode_length} must be a multiple of "
                         f"unroll_length={collection.unroll_length}.")
    per_round = updates_per_round(collection)
    if steps % per_round:
        raise ValueError(
            f"run.steps={steps} must be a whole number of rounds of {per_round} updates (every env plays one "
            f"{collection.episode_length}-step episode per round), e.g. {max(1, round(steps / per_round)) * per_round}.")


def choose_goals(kind, replay, observations, rng, task_goals, marginal_log_prob, num_candidates, goal_indices):
    """Each env's exploration goal [N, goal_dim] for the next unroll.

    nf_ugs: of `num_candidates` goals drawn from the buffer's states, the one of lowest
    marginal log p(g) (`marginal_log_prob`: [M, goal_dim] -> [M]); uniform: one random buffer
    goal; oracle: one of the env's evaluation goals `task_goals`. With an empty buffer the
    learned modes aim where each agent stands.
    """
    n = len(observations)
    if kind == "oracle":
        return task_goals[rng.integers(len(task_goals), size=n)]
    if replay.num_transitions == 0:
        return observations[:, list(goal_indices)].astype(np.float32)
    if kind == "uniform":
        return replay.sample_goals(n, rng)
    candidates = replay.sample_goals(n * num_candidates, rng)
    log_p = np.asarray(marginal_log_prob(candidates)).reshape(n, num_candidates)
    return candidates.reshape(n, num_candidates, -1)[np.arange(n), np.argmin(log_p, axis=1)]


class OnlineTrainer(trainer_lib.Trainer):
    """Trains an online agent (see the module docstring); same workdir layout as `Trainer`."""

    def __init__(self, agent_config, run_config, workdir):
        super().__init__(agent_config, run_config, workdir)
        if run_config.get("eval_variants"):
            raise ValueError("run.eval_variants is supported by offline runs only; this online run would ignore "
                             f"{sorted(run_config.eval_variants)}.")
        check_collection(agent_config.collection, int(run_config.steps))
        self.collection = agent_config.collection

    def make_pool(self):
        c = self.collection
        return env_pool.EnvPool(self.config.env_name, int(c.num_envs), num_workers=self.config.get("eval_workers"),
                                env_kwargs=dict(terminate_at_goal=False, max_episode_steps=int(c.episode_length)))

    def run(self):
        cfg, c = self.config, self.collection
        os.makedirs(self.workdir, exist_ok=True)
        pool = self.make_pool()
        try:
            env = pool.spec
            goal_dim = len(self.agent_config.goal_indices)
            spec = agents.EnvSpec(observation_dim=int(env.observation_shape[0]), action_dim=int(env.action_shape[0]),
                                  goal_dim=goal_dim)
            run_config_lib.check_compatible(self.workdir, self.agent_config, cfg, spec.to_dict())
            if cfg.eval_episodes > 0:
                self.evaluator = self.make_evaluator()
                self.eval_task_ids = self.check_eval_tasks()
            run_config_lib.save(self.workdir, self.agent_config, cfg, spec.to_dict(),
                                extra=dict(collection=dict(env_steps_per_update=self.env_steps_per_update)))
            agent = self.build_agent(spec)
            checkpointer = checkpoints.Checkpointer(os.path.join(self.workdir, trainer_lib.CHECKPOINT_DIR), agent,
                                                    seed=cfg.seed, max_to_keep=cfg.keep_checkpoints)
            start = checkpointer.restore()
            replay, coverage = self._restore_state(start, spec, env.maze_layout)
            if start:
                logging.info("Resuming from %s (step %d).", checkpointer.latest, start)
            log = metrics_log.MetricsLog(self.workdir)
            log.truncate_after(start)
            task_goals = self._task_goals(pool)
            try:
                if start < cfg.steps:
                    self._loop(agent, pool, replay, coverage, checkpointer, log, start, task_goals)
                return self._final(agent, log, coverage, task_goals)
            finally:
                log.close()
                if self.evaluator is not None:
                    self.evaluator.close()
        finally:
            pool.close()

    @property
    def env_steps_per_update(self):
        c = self.collection
        return c.unroll_length * c.num_envs / c.updates_per_unroll

    # ------------------------------------------------------------------ state
    def _replay_path(self, step):
        return os.path.join(self.workdir, f"{REPLAY_PREFIX}{step}.npz")

    def _restore_state(self, start, spec, layout):
        c = self.collection
        if start:
            path = self._replay_path(start)
            if not os.path.exists(path):
                raise FileNotFoundError(f"Checkpoint at step {start} has no replay buffer {path}; the workdir is damaged.")
            replay = replay_lib.EpisodeReplay.load(path)
            state = jsonio.read_json(os.path.join(self.workdir, f"coverage_step{start}.json"))
            coverage = coverage_lib.MazeCoverage.from_state(layout, state)
        else:
            replay = replay_lib.EpisodeReplay(
                int(c.capacity_episodes), int(c.episode_length), spec.observation_dim, spec.action_dim,
                goal_indices=tuple(self.agent_config.goal_indices), discount=self.agent_config.discount,
                seed=self.config.seed)
            coverage = coverage_lib.MazeCoverage(layout)
        return replay, coverage

    def _save_state(self, step, agent_checkpointer, replay, coverage):
        # Buffer and coverage first, checkpoint last: a checkpoint always has its buffer.
        replay.save(self._replay_path(step))
        jsonio.write_json(os.path.join(self.workdir, f"coverage_step{step}.json"), coverage.state_dict())
        agent_checkpointer.save(step)
        keep = {int(p.rsplit("-", 1)[-1]) for p in agent_checkpointer.manager.checkpoints}
        for name in os.listdir(self.workdir):
            for prefix, suffix in ((REPLAY_PREFIX, ".npz"), ("coverage_step", ".json")):
                if name.startswith(prefix) and name.endswith(suffix) and int(name[len(prefix):-len(suffix)]) not in keep:
                    os.remove(os.path.join(self.workdir, name))

    def _task_goals(self, pool):
        """[num_tasks, goal_dim] evaluation goals of the env's tasks (the oracle's goals, and plot markers)."""
        goals = []
        for task_id in range(1, pool.spec.num_tasks + 1):
            _, infos = pool.reset([0], [10_000 + task_id], options=dict(task_id=task_id), info_keys=("goal",))
            goals.append(np.asarray(infos[0]["goal"], np.float32)[: len(self.agent_config.goal_indices)])
        return np.stack(goals)

    # ------------------------------------------------------------------ the loop
    def _exploration_goals(self, agent, replay, observations, rng, task_goals):
        """[N, goal_dim] goals held for the next unroll (see `choose_goals`)."""
        return choose_goals(self.agent_config.exploration, replay, observations, rng, task_goals,
                            agent.marginal_log_prob, self.agent_config.num_candidates, self.agent_config.goal_indices)

    def _loop(self, agent, pool, replay, coverage, checkpointer, log, start, task_goals):
        cfg, c = self.config, self.collection
        n, per_round = int(c.num_envs), updates_per_round(c)
        unrolls = c.episode_length // c.unroll_length
        first_round, total_rounds = start // per_round, rounds_needed(cfg.steps, c)
        indices = list(range(n))
        update = train_step_lib.make_train_step(agent, tf.distribute.get_strategy(), int(self.agent_config.batch_size),
                                                cfg.seed, jit_compile=cfg.jit_compile)
        bar = tqdm(total=cfg.steps, initial=start, unit="update", desc=f"online {self.agent_config.agent_name}",
                   disable=not cfg.progress, dynamic_ncols=True, mininterval=1.0)
        step, next_checkpoint = start, (start // cfg.checkpoint_every + 1) * cfg.checkpoint_every
        next_eval = (start // cfg.eval_every + 1) * cfg.eval_every if cfg.eval_every else None
        # Speeds over the window since the last log row (the first window includes XLA compilation).
        env_time = update_time = 0.0
        env_steps_done = updates_done = 0
        with bar:
            for round_index in range(first_round, total_rounds):
                seeds = [envs.episode_seed(cfg.seed, 1_000_000 + round_index, k) for k in range(n)]
                observations, _ = pool.reset(indices, seeds, options=dict(task_id=int(c.start_task)), info_keys=())
                observations = np.asarray(observations, np.float32)
                slots = replay.start_episodes(n)
                info = {}
                for unroll in range(unrolls):
                    rng = np.random.default_rng([cfg.seed, round_index, unroll])
                    goals = self._exploration_goals(agent, replay, observations, rng, task_goals)
                    t0 = time.perf_counter()
                    trajectory, actions_taken = [observations], []
                    for t in range(c.unroll_length):
                        global_t = round_index * c.episode_length + unroll * c.unroll_length + t
                        actions = agent.policy.act(observations, goals, tf.constant([cfg.seed, global_t], tf.int32))
                        actions = actions.numpy()
                        observations, _, _, _, _ = pool.step(indices, actions, info_keys=())
                        observations = np.asarray(observations, np.float32)
                        trajectory.append(observations)
                        actions_taken.append(actions)
                    trajectory = np.stack(trajectory, axis=1)
                    replay.write(slots, unroll * c.unroll_length, trajectory, np.stack(actions_taken, axis=1))
                    coverage.update(trajectory[:, 1:, list(self.agent_config.goal_indices)].reshape(-1, 2))
                    env_time += time.perf_counter() - t0
                    env_steps_done += n * c.unroll_length
                    t0 = time.perf_counter()
                    for _ in range(c.updates_per_unroll):
                        batch = replay.sample(int(self.agent_config.batch_size), step)
                        batch = {k: tf.constant(v) for k, v in batch.items() if k != "goal_offsets"}
                        info = update(batch, tf.constant(step, tf.int64))
                        step += 1
                    info = {k: float(v) for k, v in info.items()}
                    self._check_metrics(agent, step, info, checkpointer)
                    update_time += time.perf_counter() - t0
                    updates_done += c.updates_per_unroll
                    bar.update(c.updates_per_unroll)
                    bar.set_postfix(env_sps=f"{env_steps_done / max(env_time, 1e-9):.0f}",
                                    ups=f"{updates_done / max(update_time, 1e-9):.1f}",
                                    coverage=f"{coverage.fraction:.2f}")
                    if step % cfg.log_every < c.updates_per_unroll or step >= cfg.steps:
                        metrics = {f"training/{k}": v for k, v in info.items()}
                        metrics.update({
                            "collection/env_steps": step * self.env_steps_per_update,
                            "collection/coverage": coverage.fraction,
                            "collection/env_steps_per_second": env_steps_done / max(env_time, 1e-9),
                            "training/updates_per_second": updates_done / max(update_time, 1e-9),
                        })
                        log.write(step, metrics)
                        env_time = update_time = 0.0
                        env_steps_done = updates_done = 0
                if step >= next_checkpoint or step >= cfg.steps:
                    self._save_state(step, checkpointer, replay, coverage)
                    next_checkpoint = (step // cfg.checkpoint_every + 1) * cfg.checkpoint_every
                if self.evaluator is not None and next_eval is not None and step >= next_eval and step < cfg.steps:
                    self.evaluate(agent, step, log)
                    self._plot(agent, coverage, task_goals, step)
                    next_eval = (step // cfg.eval_every + 1) * cfg.eval_every
        self._final_step = step

    def _plot(self, agent, coverage, task_goals, step):
        path = os.path.join(self.workdir, COVERAGE_PNG)
        return coverage_lib.plot_coverage(
            path, coverage.layout, coverage.counts,
            log_density_fn=lambda g: agent.marginal_log_prob(np.asarray(g, np.float32)).numpy(),
            title=f"{self.agent_config.agent_name} ({self.agent_config.exploration} goals), update {step}",
            goals=task_goals)

    def _final(self, agent, log, coverage, task_goals):
        final_step = self._final_step if hasattr(self, "_final_step") else self.config.steps
        self._plot(agent, coverage, task_goals, final_step)
        summary = dict(coverage=coverage.fraction, env_steps=final_step * self.env_steps_per_update,
                       updates=final_step)
        jsonio.write_json(os.path.join(self.workdir, "collection_final.json"), summary)
        result = self._final_evaluation(agent, log)
        return dict(result, **{f"collection/{k}": v for k, v in summary.items()})
