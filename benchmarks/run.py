"""``make bench``: run every benchmark and write benchmarks/results.md.

``--only grading`` or ``--only cell-times`` measures section 6 or 8 again and replaces it; ``--json PATH``
also keeps section 6's measurement, which ``--only grading --from PATH`` renders again without measuring.
"""

import argparse
import datetime
import os
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


def cell_times(repeats=3):
    """Section 8: the cells whose time a notebook states, measured (the fastest of ``repeats`` runs)."""
    before = os.getloadavg()
    rows = bench_notebooks.claimed_cells(repeats)
    after = os.getloadavg()
    lines = ["## 8. Cells whose time a notebook states", "",
             f"Measured on {datetime.date.today()}: each notebook that states a time (\"About N s\", about its "
             f"next code cell) run {repeats} times top to bottom in a fresh kernel with one BLAS thread; the "
             "fastest of each cell's wall times, from sending the cell to the kernel's reply. Load average "
             f"(1 min) before {before[0]:.2f}, after {after[0]:.2f}. tests/test_notebook_text.py holds each "
             "claim to within 2x of these figures; `python benchmarks/run.py --only cell-times` measures "
             "this section again.", "",
             "| notebook | cell | seconds |", "|---|---|---|"]
    lines += [f"| {r['notebook']} | {r['cell']} | {r['seconds']:.2f} |" for r in rows]
    return lines


def grading(times, json_out=None):
    """Section 6's measurement; its estimate uses the solution run times of section 5, measured in the
    same run. With ``json_out`` the measurement is also written there."""
    m = bench_grading.measure(notebook_times=times)
    if json_out:
        bench_grading.save(m, json_out)
    return m


GRADING, CELL_TIMES = "## 6. ", "## 8. "


def replace_section(text, heading, lines):
    """``text`` with the section that starts with ``heading`` replaced by ``lines`` (appended if absent)."""
    if heading not in text:
        return text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    start = text.index(heading)
    end = text.find("\n## ", start + 1)  # later sections stay
    return text[:start] + "\n".join(lines) + "\n" + (text[end:] if end != -1 else "")


def only_grading(out=RESULTS, json_out=None, saved=None):
    """``run.py --only grading``: measure section 6 again (and the section 5 times it needs, not written)
    and replace it in results.md, keeping the other sections of the last full run. With ``saved``
    (``--from``), render the measurement saved there instead of measuring."""
    m = report_grading.read(saved) if saved else grading(bench_notebooks.all_notebooks(), json_out)
    lines = report_grading.section(m)
    lines.insert(2, f"Regenerated alone on {m['date']} (`python benchmarks/run.py --only grading`; "
                    "the solution times it uses were measured again in that run, not the ones of section 5 above).")
    lines.insert(3, "")
    out.write_text(replace_section(out.read_text(), GRADING, lines))
    print("\n".join(lines))


def only_cell_times(out=RESULTS):
    """``run.py --only cell-times``: measure section 8 again and replace it, keeping the other sections."""
    lines = cell_times()
    out.write_text(replace_section(out.read_text(), CELL_TIMES, lines))
    print("\n".join(lines))


def main(out=RESULTS, json_out=None):
    facts = machine()
    sections = [training_step(), batchnorm(), gradcheck()]
    times = bench_notebooks.all_notebooks()
    sections += [notebooks(times), report_grading.section(grading(times, json_out)),
                 bench_similarity.section(bench_similarity.measure()), cell_times()]
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
    parser.add_argument("--only", choices=["grading", "cell-times"],
                        help="measure section 6 (grading) or 8 (the cells whose time a notebook states) again "
                             "and replace it")
    parser.add_argument("--json", type=Path, help="also write section 6's measurement to this file")
    parser.add_argument("--from", dest="saved", type=Path,
                        help="with --only grading: render section 6 from this saved measurement, measuring nothing")
    args = parser.parse_args()
    if args.saved and (args.only != "grading" or args.json):
        parser.error("--from needs --only grading, and measures nothing to write with --json")
    if args.json and args.only == "cell-times":
        parser.error("--json keeps section 6's measurement; --only cell-times does not measure it")
    if args.only == "cell-times":
        only_cell_times()
    elif args.only:
        only_grading(json_out=args.json, saved=args.saved)
    else:
        main(json_out=args.json)
