"""Modules that run in env workers or beside them never import TensorFlow (see tfnfrl.envs.worker_process)."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("module", [
    "tfnfrl.data.replay", "tfnfrl.envs.coverage", "tfnfrl.envs.env_pool", "tfnfrl.envs.worker_process",
    "tfnfrl.data.generation.runner",
])
def test_module_imports_without_tensorflow(module):
    code = f"import sys, {module}; assert 'tensorflow' not in sys.modules, 'tensorflow was imported'"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            check=False, env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 0, result.stderr[-2000:]
