"""The graded function's reference implementation, taken out of the process that runs the student's code.

A child of the verification process (:mod:`.worker`) judges one check. Before it loads the
student's definitions it calls :func:`withhold` with the functions that check forbids
(``Check.forbidden_functions``: introdl's reference, sometimes a few more). Each one is replaced,
wherever the process holds it, by a stub of the same name that raises
:class:`ReferenceWithheld`: in ``introdl``, in the submodule that defines it, in every module
that imported it, and in the containers that hold it (a dict or tuple in a module's globals;
``introdl.optimizers.OPTIMIZERS`` looks its pairs up by name at each use, so it gets the stub).
Then the function and all its code objects must be gone from the process (a weak reference to
each is dead), or the child refuses to load the student's code.

So the reference cannot run in that process, whatever the student's code does: not from a
thread, not as a copy of its ``__code__`` (the code object no longer exists), and not after the
student patched this module or the worker (there is nothing left to un-patch). Calling the stub
earns no credit: :data:`CALLED` lets the worker tell the grader so, and a student who clears it
only turns that message into a wrong or missing result.

Not covered: making the reference again from its source file (``importlib.reload``, ``exec`` of
``introdl/optimizers.py``), which is copying it.
"""

import builtins
import gc
import importlib
import sys
import types
import weakref

CALLED = []  # display names of the withheld functions called since the worker last cleared it


class ReferenceWithheld(RuntimeError):
    """A withheld reference implementation was called."""

    def __init__(self, name, graded):
        CALLED.append(name)
        super().__init__(f"the reference implementation {name} is not available while your {graded} is graded")


class NotWithheld(RuntimeError):
    """A forbidden function could not be taken out of the process (a bug of the grader, not the student's)."""


def display_name(module, qualname):
    """``introdl.adam_update`` for any introdl submodule; the full name for a function defined elsewhere."""
    return f"introdl.{qualname}" if module.split(".")[0] == "introdl" else f"{module}.{qualname}"


def withhold(functions, graded):
    """Replace the functions named by ``functions`` (``(module, qualname)`` pairs) by stubs, everywhere.

    ``graded`` names the student's function, for the stubs' message. A module that cannot be
    imported here is skipped: the student's code cannot import it either. Raises
    :class:`NotWithheld` when a function or one of its code objects is still alive afterwards.
    """
    originals, stubs, found = [], [], None
    for module, qualname in functions:
        try:
            found = importlib.import_module(module)
        except ImportError:
            continue
        for part in qualname.split("."):
            found = getattr(found, part, None)
        if not isinstance(found, types.FunctionType):
            raise NotWithheld(f"{module}.{qualname} is not a function of this process")
        if id(found) not in map(id, originals):
            originals.append(found)
            stubs.append(_stub(found, display_name(module, qualname), graded))
    watched = [weakref.ref(obj) for fn in originals for obj in (fn, *_code_objects(fn.__code__))]
    # The code object is swapped too: a list of code objects (a check's ``forbidden``) gets the stub's.
    olds = [*originals, *(fn.__code__ for fn in originals)]
    news = [*stubs, *(stub.__code__ for stub in stubs)]
    originals.clear()
    unknown = _replace_everywhere(olds, news)
    del found
    if any(ref() is not None for ref in watched):
        gc.collect()
    alive = sum(ref() is not None for ref in watched)
    if alive:
        raise NotWithheld(f"could not withhold {', '.join(display_name(m, q) for m, q in functions)}: "
                          f"{alive} objects still alive, held by {sorted(unknown) or 'objects gc cannot see'}")


def _stub(fn, name, graded):
    """A function of ``fn``'s name that raises :class:`ReferenceWithheld`; a copy of its code raises too."""
    namespace = {"ReferenceWithheld": ReferenceWithheld, "__builtins__": builtins}
    source = f"def withheld(*args, **kwargs):\n    raise ReferenceWithheld({name!r}, {graded!r})\n"
    exec(compile(source, f"<withheld {name}>", "exec"), namespace)  # noqa: S102 - constant text
    stub = namespace["withheld"]
    stub.__name__, stub.__qualname__, stub.__module__ = fn.__name__, fn.__qualname__, fn.__module__
    stub.__doc__ = f"Withheld while {graded} is graded: {name} is what it is checked against."
    return stub


def _code_objects(code):
    """``code`` and every code object nested in its constants (lambdas, comprehensions, inner functions)."""
    found = [code]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found += _code_objects(const)
    return found


def _replace_everywhere(olds, news):
    """Point every reference to ``olds[i]`` that the garbage collector can see at ``news[i]``.

    Dicts (module namespaces), objects' attributes, lists, sets and cells are changed in
    place; a tuple or frozenset that holds one is rebuilt and then replaced in turn. Returns
    the type names of the holders that still hold one (none for introdl and the checks).
    No closure here: a cell holding ``old`` would be one of its holders.
    """
    ours = {id(olds), id(news)}
    unknown = set()
    old = new = holder = item = rebuilt = value = mapping = None
    i = 0
    while i < len(olds):
        old, new = olds[i], news[i]
        replaced = {id(o) for o in olds}
        for holder in gc.get_referrers(old):
            if id(holder) in ours or id(holder) in replaced or isinstance(holder, types.FrameType):
                continue  # this function's own bookkeeping, or an object that is being replaced anyway
            if isinstance(holder, list):
                for index, item in enumerate(holder):
                    if item is old:
                        holder[index] = new
            elif isinstance(holder, set):
                holder.discard(old)
                holder.add(new)
            elif isinstance(holder, types.CellType):
                holder.cell_contents = new
            elif isinstance(holder, tuple | frozenset):
                rebuilt = []
                for item in holder:
                    rebuilt.append(new if item is old else item)
                olds.append(holder)
                news.append(type(holder)(rebuilt))
                continue  # the holder itself is replaced in turn
            elif isinstance(holder, types.FunctionType) and isinstance(old, types.CodeType):
                holder.__code__ = new  # another function made from the reference's code
            elif isinstance(mapping := holder if isinstance(holder, dict) else getattr(holder, "__dict__", None), dict):
                for key, value in list(mapping.items()):  # a namespace, or an object's attributes
                    if value is old:
                        mapping[key] = new
                    if key is old:
                        mapping[new] = mapping.pop(old)
            for item in gc.get_referents(holder):
                if item is old:  # a holder of a kind this cannot change (a functools.partial, a method)
                    unknown.add(type(holder).__name__)
        i += 1
    del old, new, holder, item, rebuilt, value, mapping
    olds.clear()
    news.clear()
    sys._clear_type_cache()  # a class attribute changed in its dict: no stale method cache
    return unknown
