r"""Roofline of the NF-GCBC train step: FLOPs per step, measured matmul peak, achieved / peak.

FLOPs per update of `get_config('nf_gcbc')` (paper size: encoder 4 x 512 -> 64, 6 coupling
blocks of width 256, observation 28 + goal 28, action 5, batch 256), counted three ways:
  - XLA: the dot instructions of the train step's optimized HLO (TF's own compiled program,
    `experimental_get_compiler_ir(...)(stage="optimized_hlo")`), 2 * |output| * |contracted|;
  - XLA's HloCostAnalysis of the same HLO text (all ops, not only dots), when `--jax_python`
    names an interpreter with jaxlib (TF 2.21 exposes no cost analysis in Python);
  - by hand: forward matmul FLOPs per layer, x 3 for forward + backward, minus the input
    gradient of the first encoder layer (nothing reads it; XLA drops it).
The peak is a float32 XLA matmul on the same cores (2048 x 2048 by default), and the same at
the train step's largest layer shape (256 x 512 @ 512 x 512). Timed rounds alternate between
the matmuls and the train step so that load from other processes hits them alike; medians
are reported with the load average before and after. Appends a section to BENCHMARKS.md.

  nice python benchmarks/roofline.py [--steps 30] [--rounds 3] [--jax_python /tmp/jaxenv/bin/python] [--no_append]
"""

import argparse
import collections
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import machine_info  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
import train_speed  # noqa: E402

AGENT = "nf_gcbc"
_INSTRUCTION = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*\w+\[([\d,]*)\]")
_DOT_OPERANDS = re.compile(r"\bdot\(%?([\w.\-]+), %?([\w.\-]+)\)")
_LHS_CONTRACTING = re.compile(r"lhs_contracting_dims=\{([\d,]*)\}")

# XLA's HloCostAnalysis run on HLO text read from stdin, in an interpreter with jaxlib.
_COST_ANALYSIS = """
import json, sys, jax
from jax._src.lib import xla_client as xc
module = xc.hlo.hlo_module_from_text(sys.stdin.read())
cost = xc._xla.hlo_module_cost_analysis(jax.devices("cpu")[0].client, module)
print(json.dumps(dict(flops=cost["flops"], transcendentals=cost.get("transcendentals", 0.0), jax=jax.__version__)))
"""


def _dims(text):
    return [int(d) for d in text.split(",") if d]


def dot_flops(hlo_text):
    """(total FLOPs, {(lhs shape, output shape): FLOPs}) of the dot instructions in HLO text.

    Each dot costs 2 * |output| * prod(lhs contracting dims) (one multiply-add per term);
    the module must have no loops (the train step has none), so each dot runs once.
    """
    shapes, by_shape = {}, collections.Counter()
    for line in hlo_text.splitlines():
        match = _INSTRUCTION.match(line)
        if match:
            shapes[match.group(1)] = _dims(match.group(2))
    if re.search(r"\bwhile\(", hlo_text):
        raise ValueError("The HLO has a while loop: per-iteration dot counts would be wrong.")
    for line in hlo_text.splitlines():
        operands = _DOT_OPERANDS.search(line)
        if not operands:
            continue
        out = shapes[_INSTRUCTION.match(line).group(1)]
        lhs = shapes[operands.group(1)]
        contracted = int(np.prod([lhs[d] for d in _dims(_LHS_CONTRACTING.search(line).group(1))]))
        by_shape[(tuple(lhs), tuple(out))] += 2 * int(np.prod(out)) * contracted
    return sum(by_shape.values()), by_shape


def hand_count(config, batch_size, obs_dim, goal_dim, action_dim):
    """{part: train-step matmul FLOPs} counted per layer: 3 x forward, less the unused input gradient."""
    widths = [obs_dim + goal_dim, *config.encoder.hidden_dims, config.encoder.output_dim]
    encoder = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    k, h, masked = config.encoder.output_dim, config.head.hidden_units, action_dim // 2
    mlp = (masked + k) * (h + k) + (h + k) * h + h * (action_dim - masked)
    coupling = config.head.num_blocks * 2 * mlp  # s and t.
    linear = config.head.num_blocks * action_dim * action_dim
    macs = {"encoder": encoder, "coupling MLPs (s and t)": coupling, "linear flows": linear}
    flops = {part: 3 * 2 * batch_size * m for part, m in macs.items()}
    flops["encoder"] -= 2 * batch_size * widths[0] * widths[1]  # d(loss)/d(input) of layer 0: not computed.
    return flops


def xla_cost_analysis(jax_python, hlo_text):
    out = subprocess.run([jax_python, "-c", _COST_ANALYSIS], input=hlo_text, capture_output=True, text=True,
                         check=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def matmul_fn(m, k, n):
    """(XLA matmul function, its args, FLOPs per call) for float32 [m, k] @ [k, n]."""
    a = tf.random.normal([m, k])
    b = tf.random.normal([k, n])
    fn = tf.function(lambda a, b: tf.matmul(a, b), jit_compile=True)
    fn(a, b).numpy()
    return fn, (a, b), 2 * m * k * n


def time_matmul(fn, args, cpu_times, min_seconds=1.0):
    """Wall seconds per call over >= min_seconds of back-to-back calls; appends CPU seconds per call to `cpu_times`."""
    calls, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < min_seconds:
        out = fn(*args)
        calls += 1
    out.numpy()
    cpu_times.append((time.process_time() - cpu_start) / calls)
    return (time.perf_counter() - start) / calls


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30, help="Train steps per timed round.")
    parser.add_argument("--rounds", type=int, default=3, help="Alternating timed rounds (median reported).")
    parser.add_argument("--peak_size", type=int, default=2048, help="n of the n x n @ n x n peak matmul.")
    parser.add_argument("--jax_python", default=None, help="Python with jax: also run XLA's HloCostAnalysis.")
    parser.add_argument("--no_append", action="store_true", help="Do not append to BENCHMARKS.md.")
    args = parser.parse_args()
    load_before = machine_info.describe("TF " + tf.__version__)

    config, _, step, _ = train_speed.build(AGENT, True)
    batches = [train_speed.batch_of(config.batch_size, np.random.default_rng(i), AGENT) for i in range(4)]
    tensors = {key: tf.constant(value) for key, value in batches[0].items()}
    hlo = step.experimental_get_compiler_ir(tensors, tf.constant(0, tf.int64))(stage="optimized_hlo")
    xla_dots, by_shape = dot_flops(hlo)
    hand = hand_count(config, config.batch_size, train_speed.OBS_DIM, train_speed.OBS_DIM, train_speed.ACTION_DIM)
    cost = xla_cost_analysis(args.jax_python, hlo) if args.jax_python else None

    n = args.peak_size
    matmuls = {f"{n} x {n} @ {n} x {n}": matmul_fn(n, n, n), "256 x 512 @ 512 x 512 (encoder layer shape)":
               matmul_fn(256, 512, 512)}
    step(batches[0], tf.constant(0, tf.int64))  # Compile, untimed.
    train_times, matmul_times = [], {name: [] for name in matmuls}
    train_cpu, matmul_cpu = [], {name: [] for name in matmuls}
    for r in range(args.rounds):
        for name, (fn, fn_args, _) in matmuls.items():
            matmul_times[name].append(time_matmul(fn, fn_args, matmul_cpu[name]))
        train_times.append(train_speed.time_train(step, batches, args.steps, 1 + r * args.steps, train_cpu))
    load_after = ", ".join(f"{x:.1f}" for x in os.getloadavg())

    step_seconds = statistics.median(train_times)
    achieved = xla_dots / step_seconds / 1e9
    gflops = {name: matmuls[name][2] / statistics.median(t) / 1e9 for name, t in matmul_times.items()}
    # Per CPU-second (all threads): moves far less than wall time when other jobs share the cores.
    cpu_gflops = {name: matmuls[name][2] / statistics.median(t) / 1e9 for name, t in matmul_cpu.items()}
    achieved_cpu = xla_dots / statistics.median(train_cpu) / 1e9
    peak_name = next(iter(matmuls))
    peak, peak_cpu = gflops[peak_name], cpu_gflops[peak_name]
    top = sorted(by_shape.items(), key=lambda kv: -kv[1])[:6]
    lines = [
        f"\n## Roofline of the {AGENT} train step (benchmarks/roofline.py)\n",
        f"- Date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- Machine (before): {load_before}; load avg after: {load_after}",
        f"- Command: `nice python benchmarks/roofline.py --steps {args.steps} --rounds {args.rounds} --peak_size {n}"
        + (" --jax_python PYTHON_WITH_JAX" if args.jax_python else "") + "`",
        f"- Config: `tfnfrl.agents.get_config('{AGENT}')` defaults (encoder {tuple(config.encoder.hidden_dims)} -> "
        f"{config.encoder.output_dim}, {config.head.num_blocks} coupling blocks of width {config.head.hidden_units}), "
        f"batch {config.batch_size}, observation {train_speed.OBS_DIM} + goal {train_speed.OBS_DIM}, action "
        f"{train_speed.ACTION_DIM}; tfnfrl.training.make_train_step, XLA, default strategy; float32.",
        "",
        "| FLOPs per train step | GFLOP |",
        "|---|---:|",
        f"| XLA optimized HLO, dot instructions ({sum(1 for _ in re.finditer(r'[ (]dot[(]', hlo))} dots) "
        f"| {xla_dots / 1e9:.3f} |",
    ]
    if cost:
        lines.append(f"| XLA HloCostAnalysis of the same HLO, all ops (jaxlib {cost['jax']}); "
                     f"transcendentals {cost['transcendentals'] / 1e6:.2f} M | {cost['flops'] / 1e9:.3f} |")
    lines += [f"| by hand: {part} | {f / 1e9:.3f} |" for part, f in hand.items()]
    lines += [f"| by hand: total matmul | {sum(hand.values()) / 1e9:.3f} |", ""]
    lines += ["Largest dots in the HLO (lhs shape -> output shape: GFLOP): "
              + "; ".join(f"{list(lhs)} -> {list(out)}: {f / 1e9:.3f}" for (lhs, out), f in top) + ".", ""]
    lines += ["| measured | median wall | GFLOP/s (wall) | of peak | GFLOP per CPU-second | of peak (CPU) |",
              "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| float32 XLA matmul {name} | {1e3 * statistics.median(matmul_times[name]):.2f} ms | "
              f"{g:.1f} | {g / peak:.2f} | {cpu_gflops[name]:.1f} | {cpu_gflops[name] / peak_cpu:.2f} |"
              for name, g in gflops.items()]
    lines += [
        f"| train step (dot FLOPs / step time) | {1e3 * step_seconds:.1f} ms ({1 / step_seconds:.1f} steps/s) "
        f"| {achieved:.1f} | {achieved / peak:.2f} | {achieved_cpu:.1f} | {achieved_cpu / peak_cpu:.2f} |",
        "",
        f"Rounds (train ms/step): {', '.join(f'{1e3 * t:.1f}' for t in train_times)}; "
        f"peak matmul rounds (ms): {', '.join(f'{1e3 * t:.1f}' for t in matmul_times[peak_name])}.",
        "",
    ]
    train_speed.append("\n".join(lines), args.no_append)


if __name__ == "__main__":
    sys.exit(main())
