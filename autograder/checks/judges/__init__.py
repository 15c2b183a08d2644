"""The checks' judging classes that a sealed bundle ships (see :mod:`.recorded`).

Each class judges a student's output from its case and from :meth:`~.core.Check.facts`: the
live check computes those facts with the reference and the catalogued mistakes, which the
assignment's module passes in; a recorded check reads them from its record. No class here
imports ``introdl`` or an assignment's check module, and none holds an answer in code: an
expected output, and each known wrong one, is a fact.
"""
