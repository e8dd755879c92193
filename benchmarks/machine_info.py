"""One line describing the machine a benchmark ran on (shared by the scripts in benchmarks/)."""

import os
import platform


def describe(*extras):
    """'N cores (nproc), CPU model, Python x.y.z[, extras], load avg a, b, c'."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    parts = [f"{os.cpu_count()} cores (nproc)", cpu, f"Python {platform.python_version()}", *extras, f"load avg {load}"]
    return ", ".join(parts)
