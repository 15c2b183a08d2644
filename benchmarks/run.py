"""``make bench``: run every benchmark and write benchmarks/results.md.

``--only grading`` measures section 6 again and replaces it; ``--json PATH`` also keeps section 6's
measurement, which ``--only grading --from PATH`` renders again without measuring.
"""

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_batchnorm  # noqa: E402
import bench_gradcheck  # noqa: E402
import bench_grading  # noqa: E402
import bench_notebooks  # noqa: E402
import bench_similarity  # noqa: E402
import bench_training_step  # noqa: E402
import report_grading  # noqa: E402
from harness import fmt_time, interleaved, machine, row  # noqa: E402

import introdl as dl  # noqa: E402

HEADER = "| candidate | median per call | spread (min - max) | ratio |\n|---|---|---|---|"


def training_step():
    stats = interleaved(bench_training_step.candidates(), repeats=7, number=10)
    adam = interleaved({"adam": bench_training_step.adam_share()}, repeats=7, number=20)["adam"]
    lines = ["## 1. Training step: 784-256-128-10, m = 512, dropout 0.8, L2, Adam", "",
             "Ratios are to PyTorch CPU in the same precision (target: fused float64 <= 1.15x, "
             "float32 <= 1.0x).", "", HEADER]
    for name, s in stats.items():
        precision = "float32" if "float32" in name else "float64"
        base = stats.get(f"PyTorch CPU, {precision}")
        lines.append(row(name, s, base))
    share = adam["median"] / stats["introdl readable, float64"]["median"]
    lines += ["", f"`adam_update` alone takes {fmt_time(adam['median'])}, {share:.0%} of the readable float64 step."]
    return lines


def batchnorm():
    cands = bench_batchnorm.candidates()
    closed = cands["introdl closed-form backward"]()
    Z, gamma, _, dout = bench_batchnorm._data()
    chain = bench_batchnorm.chain_rule_backward(dout, Z, gamma)
    for a, b in zip(closed, chain, strict=True):  # the candidates must agree before they are timed
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    stats = interleaved(cands, repeats=7, number=20)
    base = stats.get("PyTorch autograd")
    lines = ["## 2. Batch norm forward + backward, Z (256, 512), float64", "",
             "Ratios are to PyTorch autograd (target: closed form <= 1.3x).", "", HEADER]
    lines += [row(name, s, base) for name, s in stats.items()]
    return lines


def gradcheck():
    lines = ["## 3. Gradient check (two-sided, eps 1e-7)", "",
             "| network | parameters | time | per parameter | relative difference |", "|---|---|---|---|---|"]
    for dims in ([4, 5, 3, 3], [10, 16, 8, 3], [64, 32, 10]):
        n, seconds, diff = bench_gradcheck.network_check(dims)
        name = "-".join(map(str, dims))
        lines.append(f"| {name} | {n} | {fmt_time(seconds)} | {fmt_time(seconds / n)} | {diff:.1e} |")
    return lines


RESULTS = Path(__file__).resolve().parent / "results.md"


def notebooks(times):
    lines = ["## 5. Solution notebooks, top to bottom (fresh kernel, one BLAS thread, one at a time)", "",
             "| notebook | seconds |", "|---|---|"]
    lines += [f"| {name} | {seconds:.1f} |" for name, seconds in times.items()]
    lines += [f"| **all {len(times)}, one after another** | **{sum(times.values()):.1f}** |", "",
              "Targets: each under 20 s, the whole course under 3 minutes on 2 cores."]
    return lines


def grading(times, json_out=None):
    """Section 6's measurement; its estimate uses the solution run times of section 5, measured in the
    same run. With ``json_out`` the measurement is also written there."""
    m = bench_grading.measure(notebook_times=times)
    if json_out:
        bench_grading.save(m, json_out)
    return m


GRADING = "## 6. "


def only_grading(out=RESULTS, json_out=None, saved=None):
    """``run.py --only grading``: measure section 6 again (and the section 5 times it needs, not written)
    and replace it in results.md, keeping the other sections of the last full run. With ``saved``
    (``--from``), render the measurement saved there instead of measuring."""
    m = report_grading.read(saved) if saved else grading(bench_notebooks.all_notebooks(), json_out)
    text = out.read_text()
    head = text[:text.index(GRADING)] if GRADING in text else text.rstrip("\n") + "\n\n"
    after = text.find("\n## ", text.index(GRADING) + 1) if GRADING in text else -1  # later sections stay
    lines = report_grading.section(m)
    lines.insert(2, f"Regenerated alone on {m['date']} (`python benchmarks/run.py --only grading`; "
                    "the solution times it uses were measured again in that run, not the ones of section 5 above).")
    lines.insert(3, "")
    out.write_text(head + "\n".join(lines) + "\n" + (text[after:] if after != -1 else ""))
    print("\n".join(lines))


def main(out=RESULTS, json_out=None):
    facts = machine()
    sections = [training_step(), batchnorm(), gradcheck()]
    times = bench_notebooks.all_notebooks()
    sections += [notebooks(times), report_grading.section(grading(times, json_out)),
                 bench_similarity.section(bench_similarity.measure())]
    text = [f"# Benchmark results ({datetime.date.today()})", "",
            "Produced by `make bench` (benchmarks/run.py). Medians of 7 interleaved repeats; "
            "compare ratios, not absolute times, across runs.", ""]
    text += [f"- {key}: {value}" for key, value in facts.items()] + [f"- introdl: {dl.__name__} (this checkout)", ""]
    for section in sections:
        text += section + [""]
    out.write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the benchmarks and write benchmarks/results.md.")
    parser.add_argument("--only", choices=["grading"], help="measure section 6 again and replace it")
    parser.add_argument("--json", type=Path, help="also write section 6's measurement to this file")
    parser.add_argument("--from", dest="saved", type=Path,
                        help="with --only grading: render section 6 from this saved measurement, measuring nothing")
    args = parser.parse_args()
    if args.saved and (not args.only or args.json):
        parser.error("--from needs --only grading, and measures nothing to write with --json")
    if args.only:
        only_grading(json_out=args.json, saved=args.saved)
    else:
        main(json_out=args.json)
