"""launch/flow_demo.py and launch/compare.py in subprocesses, as a user runs them."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tfnfrl.flows import toy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_script(script, *args, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", MPLBACKEND="Agg")
    return subprocess.run([sys.executable, os.path.join(ROOT, "launch", script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_flow_demo_prints_the_fit_and_writes_a_png(tmp_path):
    out = run_script("flow_demo.py", "--steps=60", f"--output={tmp_path / 'demo.png'}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    numbers = {}
    for label in ("true conditional entropy", "ConditionalFlow", "diagonal Gaussian"):
        match = re.search(rf"^  {label} +(-?\d+\.\d{{3}})(?:   \(gap ([+-]\d+\.\d{{3}})\))?$", out.stdout, re.M)
        assert match, (label, out.stdout)
        numbers[label] = match.groups()
    # The entropy is the target's, on the demo's held-out points (seed 0 + 1), computed here independently.
    x, c = toy.RotatingBimodal().sample(np.random.default_rng(1), 20000)
    entropy = float(numbers["true conditional entropy"][0])
    assert entropy == pytest.approx(-np.mean(toy.RotatingBimodal().log_prob(x, c)), abs=5e-4)
    flow_nll, flow_gap = map(float, numbers["ConditionalFlow"])
    gaussian_nll, gaussian_gap = map(float, numbers["diagonal Gaussian"])
    assert flow_gap == pytest.approx(flow_nll - entropy, abs=1.5e-3)
    assert gaussian_gap == pytest.approx(gaussian_nll - entropy, abs=1.5e-3)
    # No model beats the true density; even after 60 steps the flow beats the unimodal Gaussian.
    assert 0 < flow_gap < gaussian_gap
    assert (tmp_path / "demo.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_tables_finished_runs_and_refuses_an_empty_root(tmp_path):
    for agent, success in (("nf_gcbc", 0.8), ("gcbc", 0.4)):
        workdir = tmp_path / "runs" / "cube-single-play-v0" / agent / "seed0"
        workdir.mkdir(parents=True)
        (workdir / "eval_final.json").write_text(json.dumps({"success/task1": success, "success/mean": success}))
    out = run_script("compare.py", "--root=runs", "--agents=nf_gcbc,gcbc", "--plot=cmp.png", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| **mean** | **0.800 ± 0.000** | **0.400 ± 0.000** |" in out.stdout
    assert (tmp_path / "cmp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    empty = run_script("compare.py", "--root=nothing_here", cwd=tmp_path)
    assert empty.returncode != 0 and "No finished runs (eval_final.json) under 'nothing_here'." in empty.stderr
