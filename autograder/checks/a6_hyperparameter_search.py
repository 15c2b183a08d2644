"""Checks for assignment 6: hyperparameter search.

Log-scale sampling is compared with the reference draw for draw: the notebook states the exact
call (``r = low_exp + (high_exp - low_exp) * rng.random(size)``, value ``10**r``; beta through
``1 - sample_log_uniform(1 - high, 1 - low, ...)``).

``random_search`` is judged on its list of trials, in the order tried, against the reference
with the same generator: the notebook states the order of the draws (one trial after the other,
each sampler of ``space`` once, in the order of ``space``, called as ``sampler(rng)``). The
case's samplers refuse a call without the generator and its score function a positional
dict, each with a message that says what to do. ``grid_search`` may try the combinations in any
order: it is judged on the set of trials. Every score must be ``score_fn`` of its own trial.

Coarse to fine is graded through its one new idea, ``zoom_bounds`` (the next, smaller box
around the best trials), whose reference is ``introdl.search.zoom_bounds``, the step that
``introdl.coarse_to_fine`` repeats. Calling either gets no credit.
"""

import itertools

import numpy as np

import introdl

from .casehelpers import NO_RNG, POSITIONAL, Sampler, Score
from .core import Case, Mistake, ReferenceCheck
from .judges.a6_hyperparameter_search import BetaCheck, TrialsCheck
from .registry import register

# --- sample_log_uniform ----------------------------------------------------------------------


def _log_uniform(low, high, *, rng, size=None, log=np.log10, base=10.0, draw="random", exponent=False,
                 use_size=True):
    """Log-uniform sampling with knobs for the catalogue's wrong variants."""
    low_exp, high_exp = log(low), log(high)
    shape = size if use_size else None
    u = rng.random(shape) if draw == "random" else rng.standard_normal(shape)
    r = low_exp + (high_exp - low_exp) * u
    return r if exponent else base**r


def _sampling_cases(specs):
    def make(rng, hidden):
        cases = []
        for args, size in specs[hidden]:
            label = f"low={args[0]:g}, high={args[1]:g}, " + ("size=None (one number)" if size is None
                                                             else f"size={size}")
            kwargs = {} if size is None else {"size": size}
            cases.append(Case(args, kwargs, label=label, seed=int(rng.integers(2**31))))
        return cases
    return make


LOG_UNIFORM_SPECS = {
    False: [((1e-4, 1.0), None), ((1e-4, 1e-1), 5), ((0.5, 50.0), (2, 3))],
    True: [((1e-6, 1e-2), 1), ((2e-3, 3e-3), 4), ((1.0, 1000.0), None), ((1e-5, 10.0), (3, 1)), ((0.01, 0.1), 7)],
}

SAMPLE_LOG_UNIFORM = ReferenceCheck(
    "sample_log_uniform", points=2, reference=introdl.sample_log_uniform,
    make_cases=_sampling_cases(LOG_UNIFORM_SPECS), outputs=("the sample",),
    mistakes=[
        Mistake("uniform", "the values are uniform between low and high, so almost all of them land in the top "
                "decade: draw the EXPONENT uniformly, r = low_exp + (high_exp - low_exp) * rng.random(size), "
                "and return 10**r", lambda low, high, *, rng, size=None: low + (high - low) * rng.random(size)),
        Mistake("natural_log", "the exponents come from np.log (base e) but the value is 10**r: use np.log10 "
                "for low_exp and high_exp, so that 10**r lands between low and high",
                lambda *a, **k: _log_uniform(*a, **k, log=np.log)),
        Mistake("randn", "r must be UNIFORM between low_exp and high_exp: use rng.random(size), not "
                "rng.standard_normal (the slide's randn is a typo; a Gaussian r leaves the range)",
                lambda *a, **k: _log_uniform(*a, **k, draw="normal")),
        Mistake("exponent", "this is the exponent r; return the value 10**r",
                lambda *a, **k: _log_uniform(*a, **k, exponent=True)),
        Mistake("no_size", "pass size on to the generator, rng.random(size), so that size=5 gives 5 samples "
                "(and size=None one number)", lambda *a, **k: _log_uniform(*a, **k, use_size=False)),
    ],
    alternatives=[
        lambda low, high, *, rng, size=None: 10 ** rng.uniform(np.log10(low), np.log10(high), size),
        lambda low, high, *, rng, size=None: np.exp(np.log(low) + (np.log(high) - np.log(low)) * rng.random(size)),
    ],
)

# --- sample_beta -----------------------------------------------------------------------------


def _beta_through(low, high, *, rng, size=None):
    return 1.0 - _log_uniform(1.0 - high, 1.0 - low, rng=rng, size=size)


BETA_SPECS = {
    False: [((0.9, 0.999), None), ((0.9, 0.999), 4), ((0.5, 0.99), (2, 2))],
    True: [((0.99, 0.9999), 1), ((0.0, 0.9), 3), ((0.8, 0.95), None), ((0.9, 0.9995), (2, 3))],
}

SAMPLE_BETA = BetaCheck(
    "sample_beta", points=2, reference=introdl.sample_beta, make_cases=_sampling_cases(BETA_SPECS),
    outputs=("the sample",), forbidden=[introdl.sample_beta, introdl.sample_log_uniform], helper=SAMPLE_LOG_UNIFORM,
    mistakes=[
        Mistake("direct", "beta itself was sampled on a log scale, which treats 0.9 -> 0.99 like 0.099 -> 0.99 "
                "and puts few samples near 1: sample 1 - beta instead, beta = 1 - sample_log_uniform(1 - high, "
                "1 - low, rng=rng, size=size)", lambda *a, **k: _log_uniform(*a, **k)),
        Mistake("linear_beta", "beta was sampled uniformly (linear scale), which wastes most samples below 0.99: "
                "sample 1 - beta on a log scale, beta = 1 - sample_log_uniform(1 - high, 1 - low, ...)",
                lambda low, high, *, rng, size=None: low + (high - low) * rng.random(size)),
        Mistake("linear_one_minus", "1 - beta was sampled on a LINEAR scale, which is still uniform in beta: "
                "sample 1 - beta log-uniformly with your sample_log_uniform(1 - high, 1 - low, ...)",
                lambda low, high, *, rng, size=None: 1 - ((1 - high) + (high - low) * rng.random(size))),
        Mistake("swapped_bounds", "the bounds of 1 - beta are swapped: the smaller one comes first, "
                "sample_log_uniform(1 - high, 1 - low, ...) since 1 - high < 1 - low",
                lambda low, high, *, rng, size=None: 1 - _log_uniform(1 - low, 1 - high, rng=rng, size=size)),
        Mistake("one_minus_beta", "this is 1 - beta (a small number); return beta = 1 - (the sample of 1 - beta)",
                lambda low, high, *, rng, size=None: _log_uniform(1 - high, 1 - low, rng=rng, size=size)),
    ],
    alternatives=[lambda low, high, *, rng, size=None: 1 - 10 ** rng.uniform(np.log10(1 - high), np.log10(1 - low),
                                                                               size)],
)

# --- the samplers and score functions of the search cases ------------------------------------

def _space_label(space):
    return "{" + ", ".join(f"{name!r}: {sampler!r}" for name, sampler in space.items()) + "}"


SPACES = {
    "lr": Sampler("log", 1e-4, 1.0),
    "beta": Sampler("linear", 0.8, 0.999),
    "units": Sampler("choice", 16, 32, 64, 128),
    "keep_prob": Sampler("linear", 0.5, 1.0),
    "optimizer": Sampler("choice", "momentum", "adam", "rmsprop"),
}


def _space(*names):
    return {name: SPACES[name] for name in names}


def _search_cases(rng, hidden):
    specs = ([(("lr", "beta"), 4), (("lr", "units", "keep_prob"), 5), (("lr",), 3)] if not hidden else
             [(("units",), 1), (("optimizer", "lr"), 6), (("keep_prob", "lr", "beta", "units"), 8), (("beta",), 2)])
    cases = []
    for names, n_trials in specs:
        score = Score({name: float(rng.uniform(0.5, 2.0)) for name in names})
        space = _space(*names)
        cases.append(Case((score, space, n_trials), label=f"space {_space_label(space)}, n_trials={n_trials}",
                          seed=int(rng.integers(1, 2**31))))
    return cases


def _grid_cases(rng, hidden):
    grids = ([{"lr": [0.001, 0.01, 0.1], "units": [32, 64]}, {"lr": [0.1, 0.3]},
              {"lr": [1e-3, 1e-2], "beta": [0.9, 0.99], "keep_prob": [0.5, 0.8, 1.0]}] if not hidden else
             [{"units": [64]}, {"optimizer": ["adam", "momentum"], "lr": [0.003, 0.03, 0.3], "units": [16, 128]},
              {"beta": [0.9, 0.95, 0.99, 0.999], "lr": [0.01, 0.1, 1.0, 10.0]}, {"lr": [0.5], "beta": [0.9, 0.99]}])
    cases = []
    for grid in grids:
        score = Score({name: float(rng.uniform(0.5, 2.0)) for name in grid})
        cases.append(Case((score, grid), label=f"grid {grid}"))
    return cases


# --- random_search and grid_search -----------------------------------------------------------


def _rs(score_fn, space, n_trials, *, rng, order=False, once=False, fresh=False, shared=False, call=None,
        positional=False):
    """Random search with knobs for the catalogue's wrong variants."""
    trials, hparams = [], {}
    if once:
        hparams = {name: sampler(rng) for name, sampler in space.items()}
    for _ in range(n_trials):
        if not once:
            gen = np.random.default_rng(0) if fresh else rng
            if shared:
                for name, sampler in space.items():
                    hparams[name] = sampler(gen)
            else:
                hparams = {name: (call(sampler) if call else sampler(gen)) for name, sampler in space.items()}
        score = score_fn(hparams) if positional else score_fn(**hparams)
        trials.append({"hparams": hparams, "score": score})
    if order:
        trials.sort(key=lambda trial: trial["score"], reverse=True)
    return trials


def _rs_reversed_names(score_fn, space, n_trials, *, rng):
    return _rs(score_fn, dict(reversed(list(space.items()))), n_trials, rng=rng)


def _rs_by_name(score_fn, space, n_trials, *, rng):
    columns = {name: [sampler(rng) for _ in range(n_trials)] for name, sampler in space.items()}
    settings = [{name: columns[name][i] for name in space} for i in range(n_trials)]
    return [{"hparams": h, "score": score_fn(**h)} for h in settings]


DRAW_ORDER = ("the search is right but draws in another order than the test expects: one trial after the other, "
              "call each sampler once, in the order of space: hparams = {name: sampler(rng) for name, sampler in "
              "space.items()}")


def _rs_alternative(score_fn, space, n_trials, *, rng):
    settings = []
    for _ in range(n_trials):
        setting = {}
        for name in space:
            setting[name] = space[name](rng)
        settings.append(setting)
    scores = [score_fn(**setting) for setting in settings]
    return [{"hparams": h, "score": float(s)} for h, s in zip(settings, scores, strict=True)]


RANDOM_SEARCH = TrialsCheck(
    "random_search", points=2, reference=introdl.random_search, make_cases=_search_cases, ordered=True,
    mistakes=[
        Mistake("sorted", "return the trials in the order they were tried, not sorted by score (picking the best "
                "one is a separate step)", lambda *a, **k: _rs(*a, **k, order=True)),
        Mistake("sample_once", "the hyperparameters were drawn once, before the loop, so every trial tries the "
                "same setting: draw new values inside the loop, once per trial",
                lambda *a, **k: _rs(*a, **k, once=True)),
        Mistake("fresh_rng", "every trial starts a new generator, so every trial draws the same values: pass the "
                "rng you were given to every sampler, sampler(rng)", lambda *a, **k: _rs(*a, **k, fresh=True)),
        Mistake("shared_dict", "all trials show the last trial's hyperparameters: one dict was changed in place "
                "and appended again and again; build a new dict for every trial",
                lambda *a, **k: _rs(*a, **k, shared=True)),
        Mistake("name_order", DRAW_ORDER, _rs_reversed_names),
        Mistake("by_name", DRAW_ORDER, _rs_by_name),
        Mistake("no_rng", NO_RNG, lambda *a, **k: _rs(*a, **k, call=lambda sampler: sampler())),
        Mistake("positional", POSITIONAL, lambda *a, **k: _rs(*a, **k, positional=True)),
    ],
    alternatives=[_rs_alternative],
)


def _gs(score_fn, grid, *, combos=None, shared=False, positional=False):
    """Grid search with knobs for the catalogue's wrong variants."""
    names = list(grid)
    trials, hparams = [], {}
    for combo in (combos or itertools.product)(*grid.values()):
        if shared:
            hparams.update(zip(names, combo, strict=True))
        else:
            hparams = dict(zip(names, combo, strict=True))
        score = score_fn(hparams) if positional else score_fn(**hparams)
        trials.append({"hparams": hparams, "score": score})
    return trials


def _one_at_a_time(*value_lists):
    base = [values[0] for values in value_lists]
    for i, values in enumerate(value_lists):
        for value in values[1:] if i else values:
            yield (*base[:i], value, *base[i + 1:])


def _gs_alternative(score_fn, grid):
    trials = [{"hparams": {}, "score": 0.0}]
    for name, values in grid.items():  # extend every partial combination by each value of the next name
        trials = [{"hparams": {**t["hparams"], name: v}} for t in trials for v in values]
    for trial in trials[::-1]:
        trial["score"] = float(score_fn(**trial["hparams"]))
    return trials[::-1]


GRID_SEARCH = TrialsCheck(
    "grid_search", points=2, reference=introdl.grid_search, make_cases=_grid_cases, ordered=False,
    mistakes=[
        Mistake("zip", "zip pairs the i-th values of the hyperparameters, so it tries only a few settings: a grid "
                "tries every COMBINATION, e.g. for combo in itertools.product(*grid.values())",
                lambda *a, **k: _gs(*a, **k, combos=zip)),
        Mistake("one_at_a_time", "this varies one hyperparameter at a time with the others at their first value; "
                "a grid tries every COMBINATION of the values (itertools.product)",
                lambda *a, **k: _gs(*a, **k, combos=_one_at_a_time)),
        Mistake("shared_dict", "all trials show the last combination: one dict was changed in place and appended "
                "again and again; build a new dict for every trial, e.g. dict(zip(names, combo))",
                lambda *a, **k: _gs(*a, **k, shared=True)),
        Mistake("positional", POSITIONAL, lambda *a, **k: _gs(*a, **k, positional=True)),
    ],
    alternatives=[_gs_alternative],
)

# --- zoom_bounds: the step of coarse to fine ---------------------------------------------------


def _zoom(trials, bounds, top_k, *, pick):
    best = pick(trials, top_k)
    return {name: (min(t["hparams"][name] for t in best), max(t["hparams"][name] for t in best), scale)
            for name, (_, _, scale) in bounds.items()}


def _zoom_alternative(trials, bounds, top_k):
    scores = np.array([trial["score"] for trial in trials])
    best = [trials[i] for i in np.argsort(-scores, kind="stable")[:top_k]]
    new = {}
    for name, (_, _, scale) in bounds.items():
        values = np.array([trial["hparams"][name] for trial in best])
        new[name] = (float(values.min()), float(values.max()), scale)
    return new


BOUNDS = {"lr": (1e-4, 1.0, "log"), "beta": (0.9, 0.999, "beta"), "keep_prob": (0.5, 1.0, "linear"),
          "lamd": (1e-3, 10.0, "log")}


def _zoom_cases(rng, hidden):
    specs = ([(("lr", "beta"), 10, 3), (("lr",), 6, 2), (("lr", "keep_prob"), 8, 4)] if not hidden else
             [(("lamd",), 1, 1), (("lr", "beta", "keep_prob"), 15, 5), (("beta", "lamd"), 7, 7), (("lr",), 9, 1),
              (("keep_prob", "lr"), 12, 3)])
    cases = []
    for names, n, top_k in specs:
        bounds = {name: BOUNDS[name] for name in names}
        trials = []
        for _ in range(n):
            hparams = {}
            for name, (low, high, scale) in bounds.items():
                u = rng.random()
                if scale == "log":
                    hparams[name] = float(10 ** (np.log10(low) + (np.log10(high) - np.log10(low)) * u))
                elif scale == "beta":
                    hparams[name] = float(1 - 10 ** (np.log10(1 - high) + (np.log10(1 - low) - np.log10(1 - high)) * u))
                else:
                    hparams[name] = float(low + (high - low) * u)
            trials.append({"hparams": hparams, "score": float(rng.uniform(0.5, 1.0))})
        cases.append(Case((trials, bounds, top_k), label=f"{n} trials of {', '.join(names)}, bounds {bounds}, "
                          f"top_k={top_k}"))
    return cases


ZOOM_BOUNDS = ReferenceCheck(
    "zoom_bounds", points=2, reference=introdl.search.zoom_bounds, make_cases=_zoom_cases, outputs=("new_bounds",),
    forbidden=[introdl.search.zoom_bounds, introdl.coarse_to_fine, introdl.best_trial],
    mistakes=[
        Mistake("worst", "the box was built around the WORST trials: sort by score from high to low "
                "(sorted(..., reverse=True)) before taking the first top_k",
                lambda *a: _zoom(*a, pick=lambda t, k: sorted(t, key=lambda x: x["score"])[:k])),
        Mistake("first_k", "the box holds the first top_k trials in the order they were tried: take the top_k "
                "trials with the HIGHEST scores", lambda *a: _zoom(*a, pick=lambda t, k: t[:k])),
        Mistake("best_only", "the box shrank to the single best trial (low == high): use all top_k best trials",
                lambda *a: _zoom(*a, pick=lambda t, k: sorted(t, key=lambda x: -x["score"])[:1])),
        Mistake("all_trials", "the box spans ALL trials, so it barely shrinks: keep only the top_k best",
                lambda *a: _zoom(*a, pick=lambda t, k: t)),
    ],
    alternatives=[_zoom_alternative],
)

register(SAMPLE_LOG_UNIFORM, SAMPLE_BETA, RANDOM_SEARCH, GRID_SEARCH, ZOOM_BOUNDS)
