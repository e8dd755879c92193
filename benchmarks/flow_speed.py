r"""Train-step and sampling speed of ConditionalFlow in the paper's GCBC configuration.

Config (DESIGN.md §5): 6 coupling blocks, width 256, encoder 4 x 512 -> 64 on
concat(observation, goal), batch 256, observation 28, action 5 (cube-single). Reports
train steps/s with and without XLA (`jit_compile`), and latency of sampling 1 and 1024
actions (encoder + one flow pass, and with the denoising step). Prints a table and
appends it to BENCHMARKS.md.

  python benchmarks/flow_speed.py [--steps 60] [--repeats 3] [--no_append]
      [--jax_python /tmp/jaxenv/bin/python]

With --jax_python, benchmarks/jax_peer.py (the same model in JAX/Flax) runs in that
interpreter in the same session and its rows join the table, so ratios come from one run.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tfnfrl.flows import ConditionalFlow  # noqa: E402
import machine_info  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

OBS_DIM, ACTION_DIM, BATCH = 28, 5, 256
NOISE_STD = 0.1


def make_encoder():
    layers = []
    for _ in range(4):
        layers += [keras.layers.Dense(512), keras.layers.LayerNormalization(epsilon=1e-6), keras.layers.Activation("silu")]
    layers.append(keras.layers.Dense(64))
    encoder = keras.Sequential(layers)
    encoder.build((None, 2 * OBS_DIM))
    return encoder


def build_model(block_type="coupling"):
    encoder = make_encoder()
    flow = ConditionalFlow(ACTION_DIM, 64, num_blocks=6, hidden_units=256, block_type=block_type)
    flow.build()
    return encoder, flow


def time_calls(fn, args, steps, repeats):
    """Median seconds per call over `repeats` timed runs of `steps` calls each."""
    fn(*args)  # Trace and compile.
    fn(*args)
    per_call = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            out = fn(*args)
        tf.nest.map_structure(lambda t: t.numpy(), out)
        per_call.append((time.perf_counter() - start) / steps)
    return statistics.median(per_call)


def train_step_fn(encoder, flow, jit_compile):
    optimizer = keras.optimizers.AdamW(learning_rate=3e-4, weight_decay=1e-6)
    variables = encoder.trainable_variables + flow.trainable_variables
    optimizer.build(variables)

    @tf.function(jit_compile=jit_compile)
    def step(obs_goal, actions):
        with tf.GradientTape() as tape:
            noisy = actions + NOISE_STD * tf.random.normal(tf.shape(actions))
            loss = -tf.reduce_mean(flow.log_prob(noisy, encoder(obs_goal)))
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return loss

    return step


def sample_fn(encoder, flow, denoise):
    @tf.function(jit_compile=True)
    def act(obs_goal, seed):
        context = encoder(obs_goal)
        actions = flow.sample(context, seed=seed)
        if denoise:
            with tf.GradientTape() as tape:
                tape.watch(actions)
                log_prob = flow.log_prob(actions, context)
            actions = actions + NOISE_STD**2 * tape.gradient(log_prob, actions)
        return tf.clip_by_value(actions, -1.0, 1.0)

    return act


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60, help="timed train steps per repeat")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats; the median is reported")
    parser.add_argument("--no_append", action="store_true", help="print only, do not append to BENCHMARKS.md")
    parser.add_argument("--jax_python", default=None,
                        help="python with jax, flax, optax: also time the JAX/Flax peer (benchmarks/jax_peer.py)")
    args = parser.parse_args()

    obs_goal = tf.random.normal([BATCH, 2 * OBS_DIM])
    actions = tf.random.uniform([BATCH, ACTION_DIM], -1.0, 1.0)
    rows = []
    for block_type in ("coupling", "autoregressive"):
        for jit in (True, False):
            encoder, flow = build_model(block_type)
            sec = time_calls(train_step_fn(encoder, flow, jit), (obs_goal, actions), args.steps, args.repeats)
            rows.append((f"train step, {block_type}, batch 256, jit_compile={jit}", sec * 1e3, 1.0 / sec, "steps/s"))
        for batch in (1, 1024):
            for denoise in (False, True):
                encoder, flow = build_model(block_type)
                inputs = (tf.random.normal([batch, 2 * OBS_DIM]), tf.constant([1, 2], tf.int32))
                steps = max(20, 10 * args.steps) if batch == 1 else args.steps
                sec = time_calls(sample_fn(encoder, flow, denoise), inputs, steps, args.repeats)
                label = f"sample, {block_type}, batch {batch}, {'+ denoise step' if denoise else 'one pass'}"
                rows.append((label, sec * 1e3, batch / sec, "actions/s"))

    jax_version = None
    if args.jax_python:
        peer = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_peer.py")
        out = subprocess.run([args.jax_python, peer, "--json", "--steps", str(args.steps), "--repeats", str(args.repeats)],
                             capture_output=True, text=True, check=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
        peer_result = json.loads(out.stdout.strip().splitlines()[-1])
        jax_version = peer_result["jax_version"]
        for label, ms in peer_result["rows"].items():
            batch = 256 if "train" in label else int(label.split("batch ")[1].split(",")[0])
            rate, unit = (1e3 / ms, "steps/s") if "train" in label else (batch * 1e3 / ms, "actions/s")
            rows.append((label, ms, rate, unit))

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines = [
        f"## flow_speed ({datetime.date.today().isoformat()}, commit {commit or 'n/a'})",
        "",
        f"Command: `python benchmarks/flow_speed.py --steps {args.steps} --repeats {args.repeats}"
        + (" --jax_python PYTHON_WITH_JAX" if args.jax_python else "") + "`  ",
        "Config: ConditionalFlow 6 blocks, width 256, encoder 4x512->64 on [obs, goal] (56), "
        "action 5, AdamW, float32, median of repeats.  ",
        f"Machine: {machine_info.describe('TF ' + tf.__version__)}" + (f", JAX {jax_version} (peer)" if jax_version else ""),
        "",
        "| what | ms per call | throughput |",
        "|---|---:|---:|",
    ]
    lines += [f"| {label} | {ms:.2f} | {rate:,.0f} {unit} |" for label, ms, rate, unit in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_append:
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "BENCHMARKS.md")
        with open(path, "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
