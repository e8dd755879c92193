r"""The same NF-GCBC model written in JAX/Flax, timed the same way as flow_speed.py.

A peer for speed ratios on one machine: the paper's public code is JAX/Flax, and these
machines cannot fetch it, so this is an independent JAX/Flax implementation of the same
architecture (DESIGN.md §2): encoder 4 x 512 (Dense -> LayerNorm -> SiLU) -> 64; 6 blocks of
[PLU linear flow, affine coupling with two LeakyReLU/LayerNorm MLPs of widths
(256 + 64, 256)], AdamW, batch 256, observation 28 (+ goal 28), action 5.

Needs jax, flax and optax (not tfnfrl's dependencies): run it from a separate virtualenv, e.g.
  python -m venv /tmp/jaxenv && /tmp/jaxenv/bin/pip install jax flax optax
  /tmp/jaxenv/bin/python benchmarks/jax_peer.py --json
flow_speed.py --jax_python /tmp/jaxenv/bin/python runs it in the same session and puts its
rows in the same table. Prints one JSON line of {label: ms per call} with --json.
"""

import argparse
import functools
import json
import statistics
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

OBS_DIM, ACTION_DIM, BATCH, CONTEXT, WIDTH, BLOCKS = 28, 5, 256, 64, 256, 6
NOISE_STD = 0.1


class Encoder(nn.Module):
    @nn.compact
    def __call__(self, x):
        for _ in range(4):
            x = jax.nn.silu(nn.LayerNorm(epsilon=1e-6)(nn.Dense(512)(x)))
        return nn.Dense(CONTEXT)(x)


class PLU(nn.Module):
    dim: int

    @nn.compact
    def __call__(self, x, reverse=False):
        d = self.dim
        w0 = np.linalg.qr(np.random.default_rng(0).standard_normal((d, d)))[0]
        import scipy.linalg  # jax depends on scipy.
        p, l0, u0 = scipy.linalg.lu(w0)
        lower = self.param("L", lambda _: jnp.asarray(np.tril(l0, -1), jnp.float32))
        upper = self.param("U", lambda _: jnp.asarray(np.triu(u0, 1), jnp.float32))
        s = self.param("s", lambda _: jnp.asarray(np.diag(u0), jnp.float32))
        lower = jnp.tril(lower, -1) + jnp.eye(d)
        upper = jnp.triu(upper, 1) + jnp.diag(s)
        log_det = jnp.sum(jnp.log(jnp.abs(s)))
        if not reverse:
            return x @ (p @ lower @ upper), log_det
        inv = jax.scipy.linalg.solve_triangular(upper, jnp.eye(d), lower=False) @ \
            jax.scipy.linalg.solve_triangular(lower, jnp.eye(d), lower=True, unit_diagonal=True) @ p.T
        return x @ inv, -log_det


def mlp(out):
    return nn.Sequential([
        nn.Dense(WIDTH + CONTEXT), nn.leaky_relu, nn.LayerNorm(),
        nn.Dense(WIDTH), nn.leaky_relu, nn.LayerNorm(),
        nn.Dense(out, kernel_init=nn.initializers.zeros),
    ])


class Block(nn.Module):
    @nn.compact
    def __call__(self, x, y, reverse=False):
        half = ACTION_DIM // 2
        s_net, t_net = mlp(ACTION_DIM - half), mlp(ACTION_DIM - half)
        linear = PLU(ACTION_DIM)
        if not reverse:
            x, log_det = linear(x)
            x1, x2 = x[:, :half], x[:, half:]
            h = jnp.concatenate([x1, y], -1)
            s, t = s_net(h), t_net(h)
            return jnp.concatenate([x1, (x2 - t) * jnp.exp(-s)], -1), log_det - jnp.sum(s, -1)
        x1, x2 = x[:, :half], x[:, half:]
        h = jnp.concatenate([x1, y], -1)
        s, t = s_net(h), t_net(h)
        x = jnp.concatenate([x1, x2 * jnp.exp(s) + t], -1)
        return linear(x, reverse=True)[0]


class Policy(nn.Module):
    def setup(self):
        self.encoder = Encoder()
        self.blocks = [Block() for _ in range(BLOCKS)]

    def log_prob(self, obs_goal, actions):
        y = self.encoder(obs_goal)
        x, total = actions, 0.0
        for block in self.blocks:
            x, log_det = block(x, y)
            total = total + log_det
        return -0.5 * jnp.sum(x**2, -1) - 0.5 * ACTION_DIM * jnp.log(2 * jnp.pi) + total

    def sample(self, obs_goal, key):
        y = self.encoder(obs_goal)
        x = jax.random.normal(key, (obs_goal.shape[0], ACTION_DIM))
        for block in reversed(self.blocks):
            x = block(x, y, reverse=True)
        return x

    def __call__(self, obs_goal, actions):
        return self.log_prob(obs_goal, actions)


def timed(fn, args, steps, repeats, cpu_times=None):
    """Median wall seconds per call; appends the median process CPU seconds per call to `cpu_times` if given."""
    out = fn(*args)
    jax.block_until_ready(out)
    times, cpu = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(steps):
            out = fn(*args)
        jax.block_until_ready(out)
        times.append((time.perf_counter() - start) / steps)
        cpu.append((time.process_time() - cpu_start) / steps)
    if cpu_times is not None:
        cpu_times.append(statistics.median(cpu))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    parser.add_argument("--train_only", action="store_true", help="time the train step only (no sampling rows)")
    args = parser.parse_args()

    model = Policy()
    key = jax.random.PRNGKey(0)
    obs_goal = jax.random.normal(key, (BATCH, 2 * OBS_DIM))
    actions = jax.random.uniform(key, (BATCH, ACTION_DIM), minval=-1, maxval=1)
    params = model.init(key, obs_goal, actions)
    optimizer = optax.adamw(3e-4, weight_decay=1e-6)
    opt_state = optimizer.init(params)

    @jax.jit
    def train_step(params, opt_state, obs_goal, actions, key):
        def loss_fn(p):
            noisy = actions + NOISE_STD * jax.random.normal(key, actions.shape)
            return -jnp.mean(model.apply(p, obs_goal, noisy))
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    @functools.partial(jax.jit, static_argnames="denoise")
    def act(params, obs_goal, key, denoise=False):
        a = model.apply(params, obs_goal, key, method=Policy.sample)
        if denoise:
            grad = jax.grad(lambda a: jnp.sum(model.apply(params, obs_goal, a, method=Policy.log_prob)))(a)
            a = a + NOISE_STD**2 * grad
        return jnp.clip(a, -1, 1)

    results, cpu = {}, []
    sec = timed(lambda: train_step(params, opt_state, obs_goal, actions, key), (), args.steps, args.repeats, cpu)
    train_label = "train step, JAX/Flax peer, batch 256, jax.jit"
    results[train_label] = sec * 1e3
    cpu_ms = {train_label: cpu[0] * 1e3}  # Process CPU time per step, all threads.
    for batch in (1, 1024) if not args.train_only else ():
        inputs = jax.random.normal(key, (batch, 2 * OBS_DIM))
        for denoise in (False, True):
            steps = 10 * args.steps if batch == 1 else args.steps
            sec = timed(lambda: act(params, inputs, key, denoise=denoise), (), steps, args.repeats)
            label = f"sample, JAX/Flax peer, batch {batch}, {'+ denoise step' if denoise else 'one pass'}"
            results[label] = sec * 1e3
    if args.json:
        print(json.dumps({"jax_version": jax.__version__, "rows": results, "cpu_ms": cpu_ms}))
    else:
        for label, ms in results.items():
            print(f"{label}: {ms:.2f} ms")


if __name__ == "__main__":
    main()
