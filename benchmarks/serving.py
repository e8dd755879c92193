r"""Latency and actions/s of exported policies (tfnfrl.export) vs the in-library policy.

Paper configs, random weights (latency does not depend on training), observation 28, goal 28,
action 5 (cube-single): NF-GCBC (encoder 4 x 512 -> 64, 6 coupling blocks of width 256, one
flow pass + the denoising step) and FM-GCBC (velocity MLP 4 x 512, K = 10 Euler steps).
Both are exported with `tfnfrl.export.export_agent`; each is timed through

  library    agent.policy.act(observations, goals, seed): the compiled function evaluation uses
             (NF-GCBC: the frozen-weight path of tfnfrl.flows.frozen; "training-time path" is
             the same policy through TFP's chain and autodiff, as before issue 12);
  SavedModel tf.saved_model.load(...).signatures["serving_default"] (TF2, from Python), and
             at batch 1 the restored function `loaded.serving_default` (less Python binding);
  session    a TF1 session fed by tensor name (how TF Serving runs a SavedModel), called
             through Session.make_callable (the least Python in the way);

  LiteRT     NF-GCBC's policy.tflite (launch/export.py --format=tflite) in ai-edge-litert's
             interpreter (XNNPACK), noise as an input: set_tensor x 3, invoke, get_tensor, in a
             process without TensorFlow (as on a robot), 1 and 2 interpreter threads;

for batch 1 (latency) and batch 1024 (throughput), one call at a time, candidates interleaved,
median and 10th percentile over the repeats. A breakdown of the batch-1 NF-GCBC call follows
(TF profiler: Python, TF runtime, XLA execution split into dot and fusion kernels; the
floor of an empty tf.function; the same function with its 150 weight variables frozen into
constants; the memory floor: numpy reading the call's weight matrices once from one contiguous
buffer, which a batch-1 float32 call cannot beat on this machine however little overhead it has), then the batch-1 NF-GCBC latencies under thread settings, each in a fresh process,
the settings alternating over --rounds rounds (the machine is shared and its load drifts):

  default       TensorFlow's defaults
  tf_threads_1  tf.config.threading inter- and intra-op parallelism 1
  xla_1_thread  XLA_FLAGS=--xla_cpu_multi_thread_eigen=false
  both          the two together

With --jax_python (a python with jax + flax, e.g. /tmp/jaxenv/bin/python) the JAX/Flax peer
model of benchmarks/jax_peer.py is timed the same way (one blocking call at a time).

  python benchmarks/serving.py [--repeats 300] [--big_repeats 15] [--rounds 2] \
      [--settings default,tf_threads_1,xla_1_thread,both] [--jax_python PATH] [--no_append]

Prints the tables and writes them over this script's section of BENCHMARKS.md (about 6 minutes on
2 cores).
"""

import argparse
import collections
import datetime
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import machine_info  # benchmarks/ is on sys.path when run as a script.

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OBS, GOAL, ACT, BIG = 28, 28, 5, 1024
SETTINGS = {
    "default": ({}, None),
    "tf_threads_1": ({}, 1),
    "xla_1_thread": ({"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"}, None),
    "both": ({"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"}, 1),
}
AGENTS = ("nf_gcbc", "fm_gcbc")
PERTURBATION = 0.01  # Scale of the noise added to NF-GCBC's initial flow weights (see paper_agent).
SECTION_TITLE = "## Serving latency of exported policies (benchmarks/serving.py)"


# ---------------------------------------------------------------------- timing
def interleaved(candidates, repeats, warmup=10):
    """{name: (median ms, p10 ms)} of one call each, the candidates interleaved `repeats` times."""
    import numpy as np  # pylint: disable=import-outside-toplevel

    for call in candidates.values():
        for _ in range(warmup):
            call()
    times = collections.defaultdict(list)
    for _ in range(repeats):
        for name, call in candidates.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: (1e3 * float(np.median(t)), 1e3 * float(np.percentile(t, 10))) for name, t in times.items()}


def paper_agent(name, denoise=None):
    """The paper config of `name` at obs/goal 28, action 5, seed 0 (equal seeds: equal weights).

    NF-GCBC's flow weights are moved by PERTURBATION * N(0, 1) (seeded): at initialisation the
    couplings' output layers are zero, so the flow is linear and the encoder cannot change an
    action, which would make the action-difference checks vacuous.
    """
    import numpy as np  # pylint: disable=import-outside-toplevel
    from tfnfrl import agents  # pylint: disable=import-outside-toplevel

    config = agents.get_config(name)
    if denoise is not None:
        config.denoise = denoise
    spec = agents.EnvSpec(observation_dim=OBS, action_dim=ACT, goal_dim=GOAL)
    agent = agents.make_agent(config, spec, total_steps=1000, seed=0)
    flow = getattr(agent.head, "flow", None)
    if flow is not None:
        rng = np.random.default_rng(0)
        for weight in flow.trainable_weights:
            weight.assign(weight.numpy() + PERTURBATION * rng.standard_normal(weight.shape).astype(np.float32))
        agent.policy.refresh()
    return agent


def litert_callable(path, observations, goals, noise, threads):
    """A LiteRT interpreter sized for this batch: fn() -> actions (set inputs, invoke, read)."""
    from ai_edge_litert.interpreter import Interpreter  # pylint: disable=import-outside-toplevel

    interpreter = Interpreter(model_path=path, num_threads=threads)
    feeds = {"observations": observations, "goals": goals, "noise": noise}
    indices = {}
    for detail in interpreter.get_input_details():
        key = next(k for k in feeds if k in detail["name"])
        indices[key] = detail["index"]
        interpreter.resize_tensor_input(detail["index"], feeds[key].shape)
    interpreter.allocate_tensors()
    output = interpreter.get_output_details()[0]["index"]

    def call():
        for key, index in indices.items():
            interpreter.set_tensor(index, feeds[key])
        interpreter.invoke()
        return interpreter.get_tensor(output)

    return call


def session_callable(path):
    """A TF1 session running serving_default: fn(observations, goals, seed) -> actions."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    graph = tf.Graph()
    session = tf.compat.v1.Session(graph=graph)
    with graph.as_default():
        meta_graph = tf.compat.v1.saved_model.load(session, ["serve"], path)
    signature = meta_graph.signature_def["serving_default"]
    feeds = [graph.get_tensor_by_name(signature.inputs[k].name) for k in ("observations", "goals", "seed")]
    return session.make_callable(signature.outputs["actions"].name, feed_list=feeds)


def profile_breakdown(call, calls=50):
    """Per-call µs of a TF2 call by layer, from the TF profiler's host trace."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from tensorflow.tsl.profiler.protobuf import xplane_pb2  # pylint: disable=import-outside-toplevel

    logdir = tempfile.mkdtemp(prefix="serving_profile_")
    for _ in range(10):
        call()
    tf.profiler.experimental.start(logdir)
    for _ in range(calls):
        call()
    tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    with open(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)[0], "rb") as f:
        space.ParseFromString(f.read())
    shutil.rmtree(logdir, ignore_errors=True)
    totals = collections.defaultdict(float)
    counts = collections.defaultdict(int)
    for plane in space.planes:
        names = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                name = names.get(event.metadata_id, "")
                if name in ("TFE_Py_ExecuteCancelable", "EagerKernelExecute", "CpuExecutable::ExecuteAsyncOnStream"):
                    key = name
                elif name.startswith(("dot", "MatMul")):
                    key = "XLA dot kernels"
                elif "fusion" in name:
                    key = "XLA fusion kernels"
                else:
                    continue
                totals[key] += event.duration_ps / 1e6 / calls
                counts[key] += 1
    return {key: (totals[key], counts[key] / calls) for key in totals}


def worker(setting, models_dir, repeats, big_repeats, full):
    """Measure in this process under `setting`; returns a JSON-able dict."""
    import numpy as np  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    threads = SETTINGS[setting][1]
    if threads:
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    rng = np.random.default_rng(0)
    batches = {1: None, BIG: None} if full else {1: None}
    for batch in batches:
        batches[batch] = (
            rng.normal(size=(batch, OBS)).astype(np.float32), rng.normal(size=(batch, GOAL)).astype(np.float32)
        )
    seed_np = np.array([1, 2], np.int32)
    seed, stochastic = tf.constant(seed_np), tf.constant(False)
    result = {"setting": setting, "latency": {}, "checks": {}}
    for name in AGENTS if full else AGENTS[:1]:
        agent = paper_agent(name)
        path = os.path.join(models_dir, name, "1")
        loaded = tf.saved_model.load(path)
        signature = loaded.signatures["serving_default"]
        session = session_callable(path)
        variants = {"library": agent.policy.act}
        if name == "nf_gcbc":
            variants["library, training-time path (before issue 12)"] = tf.function(agent.reference_act, jit_compile=True)
            if full:
                variants["library, no denoising step"] = paper_agent(name, denoise=False).policy.act
        tflite_path = os.path.join(path, "policy.tflite")
        for batch, (observations, goals) in batches.items():
            obs_t, goals_t = tf.constant(observations), tf.constant(goals)
            candidates = {
                f"{name} | {label} | {batch}": (lambda act=act, o=obs_t, g=goals_t: act(o, g, seed))
                for label, act in variants.items()
            }
            if os.path.exists(tflite_path):  # Timed in a process of its own (litert_process); checked here.
                noise = agent.head.flow.noise(None, seed, batch_size=batch).numpy()
                call = litert_callable(tflite_path, observations, goals, noise, 1)
                result["checks"][f"{name} LiteRT {batch}"] = float(
                    np.max(np.abs(call() - agent.policy.act(obs_t, goals_t, seed).numpy()))
                )
            if batch == 1:
                policy = agent.policy.policy_fn(seed=1, deterministic=False)
                candidates[f"{name} | library policy_fn (numpy in and out) | {batch}"] = (
                    lambda o=observations, g=goals: policy(o, g)
                )
            candidates[f"{name} | SavedModel signature | {batch}"] = (
                lambda o=obs_t, g=goals_t: signature(observations=o, goals=g, seed=seed, deterministic=stochastic)
            )
            if batch == 1:
                candidates[f"{name} | SavedModel restored function | {batch}"] = (
                    lambda o=obs_t, g=goals_t: loaded.serving_default(o, g, seed, stochastic)
                )
            candidates[f"{name} | session (TF Serving's runtime) | {batch}"] = (
                lambda o=observations, g=goals: session(o, g, seed_np)
            )
            served = session(observations, goals, seed_np)
            result["checks"][f"{name} {batch}"] = float(np.max(np.abs(served - agent.policy.act(obs_t, goals_t, seed).numpy())))
            result["latency"].update(interleaved(candidates, repeats if batch == 1 else big_repeats))
    if full:
        result["breakdown"] = breakdown(tf, np, paper_agent("nf_gcbc"), batches[1], seed, repeats)
    return result


def breakdown(tf, np, agent, inputs, seed, repeats):
    """Where a batch-1 NF-GCBC `agent.act` call spends its time."""
    from tensorflow.python.framework import convert_to_constants  # pylint: disable=import-outside-toplevel

    observations, goals = (tf.constant(x) for x in inputs)
    concrete = agent.policy.act.get_concrete_function()
    # Freeze a plain wrapper: freezing agent.act itself would drop its jit_compile attribute,
    # while the nested call keeps the XLA-compiled function (with constants instead of variables).
    wrapper = tf.function(lambda observations, goals, seed: agent.policy.act(observations, goals, seed))
    frozen = convert_to_constants.convert_variables_to_constants_v2(
        wrapper.get_concrete_function(*(tf.TensorSpec(s.shape, s.dtype) for s in agent.policy.act.input_signature))
    )
    empty = tf.function(lambda x: x, input_signature=[tf.TensorSpec([None, OBS])])
    empty_xla = tf.function(lambda x: 2.0 * x, input_signature=[tf.TensorSpec([None, OBS])], jit_compile=True)
    encoder = tf.function(agent.context, jit_compile=True)
    forward, backward = weight_matrices(concrete.variables)
    # One contiguous buffer each, larger than L2 (2 MB a core here): a read streams from L3 or memory
    # at the machine's bandwidth with no per-matrix call overhead, a lower bound for any batch-1 call.
    forward_bytes = np.concatenate([w.ravel() for w in forward])
    backward_bytes = np.concatenate([w.ravel() for w in backward])
    latency = interleaved(
        {
            "agent.act": lambda: agent.policy.act(observations, goals, seed),
            "same, weights frozen into constants": lambda: frozen(observations=observations, goals=goals, seed=seed),
            "encoder only (XLA)": lambda: encoder(observations, goals),
            "empty tf.function": lambda: empty(observations),
            "empty XLA tf.function": lambda: empty_xla(observations),
            "memory floor: one read of the call's weight matrices (numpy sum over a contiguous copy)": (
                lambda: forward_bytes.sum()
            ),
            "memory floor: the same plus the couplings' matrices again (the denoising step's backward pass)": (
                lambda: (forward_bytes.sum(), backward_bytes.sum())
            ),
        },
        repeats,
    )
    return {
        "latency": latency,
        "weight_megabytes": sum(w.nbytes for w in forward) / 1e6,
        "captured_variables": len(concrete.captured_inputs),
        "profile": profile_breakdown(lambda: agent.policy.act(observations, goals, seed)),
    }


def weight_matrices(variables):
    """(every 2-d weight the acting call reads, the couplings' ones its denoising step reads again), numpy."""
    forward = [v.numpy() for v in variables if len(v.shape) == 2 and min(v.shape) > 0]
    backward = [
        v.numpy() for v in variables
        if len(v.shape) == 2 and min(v.shape) > 0 and v.name.startswith("frozen_")
        and not v.name.startswith(("frozen_k1c", "frozen_w_inv_t"))
    ]
    return forward, backward


def litert_process(tflite_path, repeats, big_repeats):
    """{label: (median ms, p10 ms)} of policy.tflite in a process without TensorFlow, 1 and 2 threads.

    As a robot runs it: in the same process as TensorFlow, TF's thread pools (which spin after
    each call) competed with the interpreter for the 2 cores and added ~0.3 ms at batch 1.
    """
    code = f"""
import json, sys, time
sys.path.insert(0, {os.path.join(ROOT, 'benchmarks')!r})
import numpy as np
import serving
assert "tensorflow" not in sys.modules
rng = np.random.default_rng(0)
out = {{}}
for batch, repeats in ((1, {repeats}), ({BIG}, {big_repeats})):
    inputs = [rng.normal(size=(batch, d)).astype(np.float32) for d in ({OBS}, {GOAL}, {ACT})]
    calls = {{threads: serving.litert_callable({tflite_path!r}, *inputs, threads) for threads in (1, 2)}}
    for threads, call in calls.items():
        for _ in range(10):
            call()
    times = {{threads: [] for threads in calls}}
    for _ in range(repeats):
        for threads, call in calls.items():
            start = time.perf_counter(); call(); times[threads].append(time.perf_counter() - start)
    for threads, t in times.items():
        label = f"nf_gcbc | LiteRT ({{threads}} thread{{'s' if threads > 1 else ''}}, own process) | {{batch}}"
        out[label] = (1e3 * float(np.median(t)), 1e3 * float(np.percentile(t, 10)))
print(json.dumps(out))
"""
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, check=True)
    return json.loads(process.stdout.strip().splitlines()[-1])


def jax_peer(jax_python, repeats, big_repeats):
    """{label: (median ms, p10 ms)} of the JAX/Flax peer's blocking act calls."""
    code = f"""
import functools, json, sys, time
sys.path.insert(0, {os.path.join(ROOT, 'benchmarks')!r})
import jax, jax.numpy as jnp, numpy as np
import jax_peer as peer
model, key = peer.Policy(), jax.random.PRNGKey(0)
params = model.init(key, jnp.zeros((1, {OBS + GOAL})), jnp.zeros((1, {ACT})))
@functools.partial(jax.jit, static_argnames="denoise")
def act(params, x, key, denoise):
    a = model.apply(params, x, key, method=peer.Policy.sample)
    if denoise:
        a = a + peer.NOISE_STD**2 * jax.grad(lambda a: jnp.sum(model.apply(params, x, a, method=peer.Policy.log_prob)))(a)
    return jnp.clip(a, -1, 1)
out = {{}}
for batch, repeats in ((1, {repeats}), ({BIG}, {big_repeats})):
    x = jax.random.normal(key, (batch, {OBS + GOAL}))
    for denoise in (True, False):
        for _ in range(10): act(params, x, key, denoise).block_until_ready()
        times = []
        for _ in range(repeats):
            start = time.perf_counter(); act(params, x, key, denoise).block_until_ready(); times.append(time.perf_counter() - start)
        label = f"JAX/Flax peer | jax.jit{{'' if denoise else ', no denoising step'}} | {{batch}}"
        out[label] = (1e3 * float(np.median(times)), 1e3 * float(np.percentile(times, 10)))
empty = jax.jit(lambda x: 2.0 * x)
x = jnp.zeros((1, {OBS}))
for _ in range(10): empty(x).block_until_ready()
times = []
for _ in range({repeats}):
    start = time.perf_counter(); empty(x).block_until_ready(); times.append(time.perf_counter() - start)
out["JAX/Flax peer | empty jax.jit | 1"] = (1e3 * float(np.median(times)), 1e3 * float(np.percentile(times, 10)))
print(json.dumps(dict(version=jax.__version__, latency=out)))
"""
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    process = subprocess.run([jax_python, "-c", code], capture_output=True, text=True, env=env, timeout=900, check=True)
    return json.loads(process.stdout.strip().splitlines()[-1])


def run_worker(setting, models_dir, args, full):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", **SETTINGS[setting][0])
    command = [
        sys.executable, os.path.abspath(__file__), "--worker", setting, "--models_dir", models_dir,
        "--repeats", str(args.repeats), "--big_repeats", str(args.big_repeats),
    ] + (["--full"] if full else [])
    process = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if process.returncode:
        raise RuntimeError(f"worker {setting} failed:\n{process.stderr[-3000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- report
def latency_table(latency):
    rows = collections.OrderedDict()
    for key, (median, p10) in latency.items():
        policy, path, batch = (part.strip() for part in key.split("|"))
        rows.setdefault((policy, path), {})[int(batch)] = (median, p10)
    lines = [
        "| policy | path | batch 1: median ms (p10) | actions/s at batch 1 | batch 1024: median ms (p10) | actions/s at batch 1024 |",
        "|---|---|---|---|---|---|",
    ]
    for (policy, path), by_batch in rows.items():
        cells = []
        for batch in (1, BIG):
            if batch in by_batch:
                median, p10 = by_batch[batch]
                cells += [f"{median:.3f} ({p10:.3f})", f"{batch / median * 1e3:,.0f}"]
            else:
                cells += ["-", "-"]
        lines.append(f"| {policy} | {path} | " + " | ".join(cells) + " |")
    return lines


def target_lines(latency):
    """Issue 12's ratios (NF-GCBC with the denoising step against the JAX peer, batch-1 medians)."""
    jax = latency.get("JAX/Flax peer | jax.jit | 1")
    if not jax:
        return []
    rows = [
        ("library batch 1 / JAX", "nf_gcbc | library | 1", 0.6),
        ("SavedModel signature batch 1 / JAX", "nf_gcbc | SavedModel signature | 1", 0.8),
        ("session batch 1 / JAX", "nf_gcbc | session (TF Serving's runtime) | 1", None),
        ("LiteRT (1 thread) batch 1 / JAX", "nf_gcbc | LiteRT (1 thread, own process) | 1", 0.25),
        ("LiteRT (2 threads) batch 1 / JAX", "nf_gcbc | LiteRT (2 threads, own process) | 1", 0.25),
    ]
    lines = ["Issue 12 targets (ratio of medians, this run):", "", "| ratio | value | target |", "|---|---|---|"]
    for label, key, target in rows:
        if key in latency:
            lines.append(f"| {label} | {latency[key][0] / jax[0]:.2f} | {'<= ' + str(target) if target else '-'} |")
    before = latency.get("nf_gcbc | library, training-time path (before issue 12) | 1024")
    if before and "nf_gcbc | library | 1024" in latency:
        lines.append(
            f"| library batch 1024 / training-time path batch 1024 | {latency['nf_gcbc | library | 1024'][0] / before[0]:.2f} | <= 1 |"
        )
    return lines + [""]


def report(default, sweep, jax_result, args, export_seconds):
    latency = dict(default["latency"])
    if jax_result:
        latency.update(jax_result["latency"])
    lines = [
        "",
        SECTION_TITLE,
        "",
        f"- Date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- Machine: {machine_info.describe()}",
        f"- Command: `python benchmarks/serving.py --repeats {args.repeats} --big_repeats {args.big_repeats} --rounds {args.rounds}"
        + (f" --settings {args.settings}" if args.settings != ",".join(SETTINGS) else "")
        + (f" --jax_python {args.jax_python}`" if args.jax_python else "`"),
        "- Config: paper NF-GCBC (encoder 4 x 512 -> 64, 6 coupling blocks width 256, one flow pass + denoising "
        "step) and FM-GCBC (velocity MLP 4 x 512 GELU, K = 10 Euler steps), observation 28, goal 28, action 5, "
        f"random weights (NF-GCBC's flow moved by {PERTURBATION} x N(0, 1) so every coupling acts), `jit_act=True`, fixed seed input; one blocking call at a time, candidates interleaved; "
        f"TensorFlow defaults; LiteRT: ai-edge-litert, XNNPACK, fed the noise the library draws for the seed. "
        "Export time (trace + save; nf_gcbc includes the LiteRT conversion): "
        + ", ".join(f"{k} {v:.0f} s" for k, v in export_seconds.items())
        + ". Max |session (or LiteRT) - library| action difference: "
        + ", ".join(f"{k} {v:.1e}" for k, v in default["checks"].items())
        + (f". JAX {jax_result['version']} peer: benchmarks/jax_peer.py's model." if jax_result else "."),
        "",
        *latency_table(latency),
        "",
        *target_lines(latency),
        "Where a batch-1 NF-GCBC `agent.act` call goes (same process, TensorFlow defaults; "
        f"its weight matrices: {default['breakdown']['weight_megabytes']:.1f} MB of float32):",
        "",
        "| measurement | median ms (p10) |",
        "|---|---|",
    ]
    split = default["breakdown"]
    for name, (median, p10) in split["latency"].items():
        lines.append(f"| {name} | {median:.3f} ({p10:.3f}) |")
    lines += ["", f"TF profiler, per call ({split['captured_variables']} captured weight variables; "
                  "the profiler inflates the Python share):", "", "| layer | µs per call | kernels per call |", "|---|---|---|"]
    labels = {
        "TFE_Py_ExecuteCancelable": "TF eager execute (everything below Python)",
        "EagerKernelExecute": "function kernel (variable snapshots, XLA launch)",
        "CpuExecutable::ExecuteAsyncOnStream": "XLA executable",
        "XLA dot kernels": "  of which dot kernels",
        "XLA fusion kernels": "  of which elementwise fusion kernels",
    }
    for key, label in labels.items():
        if key in split["profile"]:
            micros, count = split["profile"][key]
            lines.append(f"| {label} | {micros:.0f} | {count:.0f} |")
    paths = ("library", "SavedModel signature", "session (TF Serving's runtime)")
    lines += ["", f"NF-GCBC batch-1 latency under thread settings: a fresh process per setting and round, "
                  f"settings alternating over {args.rounds} rounds; median over rounds of each round's median ms "
                  "[lowest - highest round]:", "",
              "| setting | " + " | ".join(paths) + " |", "|---|---|---|---|"]
    for setting, rounds in sweep.items():
        cells = []
        for path in paths:
            medians = sorted(r[f"nf_gcbc | {path} | 1"][0] for r in rounds)
            cells.append(f"{statistics.median(medians):.3f} [{medians[0]:.3f} - {medians[-1]:.3f}]")
        lines.append(f"| {setting} | " + " | ".join(cells) + " |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=300, help="batch-1 calls per candidate")
    parser.add_argument("--big_repeats", type=int, default=15, help="batch-1024 calls per candidate")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated thread settings to sweep")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the settings sweep")
    parser.add_argument("--jax_python", default=None, help="python with jax + flax: also time the JAX/Flax peer")
    parser.add_argument("--no_append", action="store_true", help="print only, do not append to BENCHMARKS.md")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--models_dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    if args.worker:
        print(json.dumps(worker(args.worker, args.models_dir, args.repeats, args.big_repeats, args.full)))
        return

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    models_dir = tempfile.mkdtemp(prefix="serving_bench_")
    try:
        lines = measure(models_dir, args)
    finally:
        shutil.rmtree(models_dir, ignore_errors=True)
    print("\n".join(lines))
    if not args.no_append:
        path = os.path.join(ROOT, "BENCHMARKS.md")
        with open(path) as f:
            current = f.read()
        section = "\n".join(lines).lstrip("\n") + "\n"
        with open(path, "w") as f:  # The title's newline: older sections' titles extend this one.
            f.write(machine_info.replace_section(current, SECTION_TITLE + "\n", section))
        print("Wrote its section of BENCHMARKS.md")


def measure(models_dir, args):
    """Export both policies into `models_dir`, run the workers; returns the report's lines."""
    from tfnfrl import export  # pylint: disable=import-outside-toplevel

    export_seconds = {}
    for name in AGENTS:
        start = time.perf_counter()
        formats = ("savedmodel", "tflite") if name == "nf_gcbc" else ("savedmodel",)
        export.export_agent(paper_agent(name), models_dir, name, version=1, verify=False, formats=formats)
        export_seconds[name] = time.perf_counter() - start
        print(f"exported {name} in {export_seconds[name]:.0f} s", flush=True)
    full = run_worker("default", models_dir, args, full=True)
    full["latency"].update(
        litert_process(os.path.join(models_dir, "nf_gcbc", "1", "policy.tflite"), args.repeats, args.big_repeats)
    )
    print("measured the full table", flush=True)
    # The machine is shared: settings alternate over rounds so that load drifts hit all of them.
    sweep = collections.defaultdict(list)
    for round_index in range(args.rounds):
        for setting in [s for s in args.settings.split(",") if s]:
            sweep[setting].append(run_worker(setting, models_dir, args, full=False)["latency"])
            print(f"measured {setting}, round {round_index + 1}", flush=True)
    jax_result = jax_peer(args.jax_python, args.repeats, args.big_repeats) if args.jax_python else None
    return report(full, sweep, jax_result, args, export_seconds)


if __name__ == "__main__":
    main()
