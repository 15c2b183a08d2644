"""Helpers that judges of several assignments share."""


def replay_helper(data):
    """The check a judge asks about (a helper of the graded function), replayed from its record ``data``."""
    from ..recorded import replay  # imported here: the record module builds on the judges' classes

    return replay(data)


def own_named(student_fn, name, reference=None):
    """The student's own function ``name`` (from the globals of ``student_fn``, as a notebook defines
    it), or None when there is none or it is ``reference`` itself (see ``helpers.own_function``)."""
    fn = getattr(student_fn, "__globals__", {}).get(name)
    return fn if callable(fn) and fn is not reference else None
