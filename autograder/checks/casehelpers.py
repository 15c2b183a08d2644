"""Functions and objects that the checks' cases pass to a graded function (cost functions,
samplers, scores), kept apart so that a sealed bundle can ship them (see :mod:`.recorded`).

No graded function here, nothing that imports ``introdl`` or an assignment's check module.
"""
