"""The copy-detection report: one HTML page for a person to read, and a CSV of the flagged pairs.

The page ranks the flagged pairs, best first, and shows the first ``SHOWN`` side by side with
the matching code highlighted (copydetect's ``highlight_overlap``); it lists the flagged
students, the groups of students who share one answer, the functions not compared (too
short to tell apart) and every input that was skipped. It is self-contained: no script, no
stylesheet or font from elsewhere (it holds student code).
"""

from collections import defaultdict
from html import escape

from copydetect import compare_files
from copydetect.utils import highlight_overlap

from .export import to_csv

SHOWN = 200  # pairs shown side by side; the table and the CSV have them all
LISTED = 2000  # rows of the ranked table

CSV_COLUMNS = ["rank", "function", "notebook", "student", "other", "other_kind", "score", "share_student",
               "share_other"]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { padding: 0.2em 0.6em; text-align: left; }
tr:nth-child(even) { background: #f4f4f4; } th { background: #e8e8e8; } td.num { text-align: right; }
.note { background: #fff8d8; border: 1px solid #e0c860; padding: 0.6em 1em; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; margin-bottom: 2em; }
.pair pre { background: #fafafa; border: 1px solid #ddd; padding: 0.5em; overflow-x: auto; font-size: 0.85em;
            margin: 0; white-space: pre; }
.match { background: #f6c2c2; } .muted { color: #777; }
"""


def _csv_rows(result):
    rows = []
    for rank, match in enumerate(result.matches, start=1):
        rows.append({"rank": rank, "function": match.function.check, "notebook": match.function.notebook,
                     "student": match.student.name, "other": match.other.name, "other_kind": match.other.kind,
                     "score": round(match.score, 4), "share_student": round(match.shares[0], 4),
                     "share_other": round(match.shares[1], 4)})
    return rows


def write_csv(result, path):
    """The flagged pairs, best first (also the ones past the page's side-by-side views)."""
    path.write_text(to_csv(CSV_COLUMNS, _csv_rows(result)), encoding="utf-8")


def _who(document):
    kind = "" if document.kind == "student" else f'<span class="muted">{escape(document.kind)}</span> '
    return f"{kind}{escape(document.name)}"


def _table(headers, rows, numeric=()):
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="num">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
                                    for i, cell in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _root(parent, x):
    while parent.setdefault(x, x) != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _groups(result):
    """``[(function, [students])]``: three or more students linked by one function's flagged pairs."""
    parents = defaultdict(dict)  # function: union-find forest of its students
    for match in result.matches:
        if match.other.kind == "student":
            parent = parents[match.function.check]
            parent[_root(parent, match.student.name)] = _root(parent, match.other.name)
    found = []
    for check, parent in parents.items():
        members = defaultdict(list)
        for name in list(parent):
            members[_root(parent, name)].append(name)
        found += [(check, sorted(group)) for group in members.values() if len(group) >= 3]
    return sorted(found, key=lambda g: (-len(g[1]), g[0], g[1]))


def _side_by_side(rank, match):
    _, _, slices = compare_files(match.student.print, match.other.print)  # where the matching code is
    left, _ = highlight_overlap(match.student.code, slices[0], '<span class="match">', "</span>", escape_html=True)
    right, _ = highlight_overlap(match.other.code, slices[1], '<span class="match">', "</span>", escape_html=True)
    return (f'<h3 id="pair-{rank}">#{rank} {escape(match.function.check)}: {match.score:.2f}</h3>'
            f'<div class="pair"><div><p>{_who(match.student)}: {match.shares[0]:.0%} of this answer matches</p>'
            f"<pre>{left}</pre></div><div><p>{_who(match.other)}: {match.shares[1]:.0%} of it matches</p>"
            f"<pre>{right}</pre></div></div>")


def html(result):
    """The report page as text."""
    matches, flags = result.matches, result.flags
    compared = [fn for fn in result.functions if not fn.skipped]
    parts = [f"<h1>Copy detection: {escape(result.assignment)}</h1>",
             f"<p>{len(result.students)} student(s), {len(compared)} of {len(result.functions)} graded functions "
             f"compared; {len(matches)} flagged pair(s), {len(flags)} student(s) flagged; {escape(result.when)}.</p>",
             '<p class="note"><b>Evidence for a person to review.</b> No score or status was changed. Each '
             "student's answer (the answer cell without the function's signature, docstring and the release's "
             "starter code) was compared with the reference, the solution, the other students' answers and "
             f"the known files{' (' + escape(', '.join(result.known)) + ')' if result.known else ''}. "
             "Identifiers, strings, comments and layout are normalised away, so renaming does not hide a copy. "
             "A score is the share of an answer's normalised code found in the other document (for two students, "
             f"the larger of the two shares); pairs at {result.threshold:.2f} or more are flagged. Correct answers "
             "to a short, formulaic function look alike: read the code before you conclude anything.</p>",
             f'<p class="muted">copydetect k = {result.settings["k"]} normalised characters, window = '
             f'{result.settings["window"]}, threshold = {result.threshold:.2f}, answers of '
             f'{result.settings["min_length"]} normalised characters or more '
             "(calibrated on the course's own functions: python -m autograder.grading.similarity_calibration). "
             "Files: pairs.csv beside this page lists every flagged pair.</p>"]
    parts.append("<h2>Flagged students</h2>")
    parts.append(_table(["student", "best match", "score", "matches"], [
        (escape(s), escape(f.best.described(s)), f"{f.best.score:.2f}", f.count)
        for s, f in sorted(flags.items(), key=lambda item: (-item[1].best.score, item[0]))], numeric=(2, 3))
        if flags else "<p>None.</p>")
    parts.append("<h2>Pairs, most similar first</h2>")
    if matches:
        rows = [(f'<a href="#pair-{rank}">{rank}</a>' if rank <= SHOWN else rank, f"{m.score:.2f}",
                 escape(m.function.check), escape(m.student.name), _who(m.other),
                 f"{m.shares[0]:.2f} / {m.shares[1]:.2f}") for rank, m in enumerate(matches[:LISTED], start=1)]
        parts.append(_table(["#", "score", "function", "student", "matches", "shares"], rows, numeric=(0, 1)))
        if len(matches) > LISTED:
            parts.append(f"<p>... {len(matches) - LISTED} more in pairs.csv.</p>")
    else:
        parts.append("<p>None.</p>")
    groups = _groups(result)
    if groups:
        parts.append("<h2>Groups: three or more students linked by one function's flagged pairs</h2>")
        parts.append(_table(["function", "students", "count"],
                            [(escape(c), escape(", ".join(g)), len(g)) for c, g in groups], numeric=(2,)))
    parts.append("<h2>Functions</h2>")
    parts.append(_table(["function", "notebook", "compared", "blank", "too short", "not compared because"], [
        (escape(fn.check), escape(fn.notebook), len(fn.answers), len(fn.blank), len(fn.short), escape(fn.skipped))
        for fn in result.functions], numeric=(2, 3, 4)))
    parts.append("<h2>Skipped input</h2>")
    parts.append("<ul>" + "".join(f"<li>{escape(p)}</li>" for p in result.problems) + "</ul>"
                 if result.problems else "<p>None.</p>")
    if result.not_graded:
        parts.append(f"<p>Not in the gradebook (grade them to record their flag): "
                     f"{escape(', '.join(result.not_graded))}.</p>")
    if matches:
        parts.append(f"<h2>Side by side: the {min(len(matches), SHOWN)} most similar pairs</h2>")
        parts += [_side_by_side(rank, m) for rank, m in enumerate(matches[:SHOWN], start=1)]
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Copy detection: '
            f"{escape(result.assignment)}</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n")


def write_html(result, path):
    path.write_text(html(result), encoding="utf-8")
