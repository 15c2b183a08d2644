"""Timing helpers shared by the benchmarks: repeats, medians and spreads, machine facts.

Absolute times drift by 10-30% between runs on shared machines, so every benchmark reports
ratios of candidates timed in the same run, interleaved repeat by repeat.
"""

import os
import platform
import statistics
import time

import numpy as np


def interleaved(candidates, *, repeats=7, number=20, warmup=3):
    """Time each candidate ``number`` calls at a time, ``repeats`` times, interleaved.

    Parameters
    ----------
    candidates : dict of str to callable ()

    Returns
    -------
    dict of str to dict ``{"median", "low", "high"}`` in seconds per call
    """
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: {"median": statistics.median(s), "low": min(s), "high": max(s)} for name, s in samples.items()}


def fmt_time(seconds):
    """'9.51 ms' style, in the unit that suits the value."""
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def row(name, stats, baseline=None):
    """A markdown table row: name, median, spread (min-max), ratio to the baseline."""
    ratio = f"{stats['median'] / baseline['median']:.2f}x" if baseline else ""
    spread = f"{fmt_time(stats['low'])} - {fmt_time(stats['high'])}"
    return f"| {name} | {fmt_time(stats['median'])} | {spread} | {ratio} |"


def machine():
    """Facts that make a result comparable: CPU, cores, library versions and the BLAS kernel."""
    from threadpoolctl import threadpool_info

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = [f"{i['internal_api']} {i.get('version')} ({i.get('architecture')}, {i['num_threads']} threads)"
            for i in threadpool_info() if i["user_api"] == "blas"]
    facts = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
             "blas": "; ".join(blas) or "unknown",
             "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset")}
    try:
        import torch

        facts["torch"] = f"{torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        facts["torch"] = "not installed"
    return facts
