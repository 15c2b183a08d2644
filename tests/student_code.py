"""Run a test's "student answer" source the way a notebook would define it."""

import numpy as np


def student_namespace(source, **extra_globals):
    """The names ``source`` defines, in a fresh namespace holding ``np`` (and ``extra_globals``),
    as in a notebook's globals."""
    namespace = {"np": np, **extra_globals}
    exec(source, namespace)  # noqa: S102 - test code written in the tests
    return namespace
