"""Shared by the scripts in benchmarks/: the line describing the machine, and BENCHMARKS.md section updates."""

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


def replace_section(text, title, section):
    """`text` (BENCHMARKS.md) with the section headed `title` replaced by `section`, or `section` appended."""
    start = text.find(title)
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section
    end = text.find("\n## ", start + len(title))
    if end < 0:
        return text[:start] + section
    return text[:start] + section.rstrip("\n") + "\n" + text[end:]
