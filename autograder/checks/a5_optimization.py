"""Checks for assignment 5: mini-batches, exponentially weighted averages, momentum, RMSprop,
Adam and learning-rate decay.

The mini-batches are compared with the reference draw for draw: the notebook states the exact
call (one ``perm = rng.permutation(m)``, then consecutive slices of the shuffled columns).

An optimizer's ``*_init`` is graded on its own (small points). Its ``*_update`` is judged over
several steps with a fixed sequence of gradients: the state comes from the student's own
``*_init`` (found in the globals of the student's update, as in a notebook) when that one is
right, else from the reference's; after every step both the parameters AND the state are
compared with the reference, so that a wrong bias correction, swapped betas, eps inside the
square root or corrected values written back to the state all fail. The update must be pure:
changing ``params``, ``grads`` or ``state`` in place fails with its own message.
"""


import numpy as np

import introdl

from .core import Case, Mistake, ReferenceCheck
from .helpers import layer_params, shapes
from .judges.a5_optimization import IN_PLACE, OTHER_DRAW, MiniBatchCheck, OptimizerCheck
from .registry import register

# --- random_mini_batches -------------------------------------------------------------------


def _minibatch_cases(rng, hidden):
    """(n_x, n_y, m, batch_size or None for the default 64)."""
    if not hidden:
        specs = [(3, 1, 10, 4), (2, 2, 8, 4), (4, 1, 7, None)]
    else:
        specs = [(5, 1, 130, 32), (1, 3, 1, 16), (3, 2, 64, 64), (2, 1, 150, None), (6, 1, 9, 1), (4, 2, 23, 5)]
    cases = []
    for n_x, n_y, m, batch_size in specs:
        X = np.round(rng.standard_normal((n_x, m)), 3)
        # Distinct labels, so that a Y shuffled apart from X shows.
        Y = np.round(rng.uniform(-1, 1, (n_y, m)), 3)
        args = (X, Y) if batch_size is None else (X, Y, batch_size)
        size = "the default batch_size=64" if batch_size is None else f"batch_size={batch_size}"
        cases.append(Case(args, label=f"X {X.shape}, Y {Y.shape}, {size}", seed=int(rng.integers(2**31))))
    return cases


def _batches(X, Y, batch_size, perm_x, perm_y=None, *, rows=False, drop_last=False):
    """Slices of the shuffled columns, with knobs for the catalogue's wrong variants."""
    Xs, Ys = X[:, perm_x], Y[:, perm_x if perm_y is None else perm_y]
    m = X.shape[1]
    stop = m - m % batch_size if drop_last else m
    if rows:
        return [(Xs[k:k + batch_size], Ys[k:k + batch_size]) for k in range(0, stop, batch_size)]
    return [(Xs[:, k:k + batch_size], Ys[:, k:k + batch_size]) for k in range(0, stop, batch_size)]


def _mb_drop_last(X, Y, batch_size=64, *, rng):
    return _batches(X, Y, batch_size, rng.permutation(X.shape[1]), drop_last=True)


def _mb_two_perms(X, Y, batch_size=64, *, rng):
    return _batches(X, Y, batch_size, rng.permutation(X.shape[1]), rng.permutation(X.shape[1]))


def _mb_rows(X, Y, batch_size=64, *, rng):
    return _batches(X, Y, batch_size, rng.permutation(X.shape[1]), rows=True)


def _mb_replacement(X, Y, batch_size=64, *, rng):
    return _batches(X, Y, batch_size, rng.integers(0, X.shape[1], size=X.shape[1]))


def _mb_no_shuffle(X, Y, batch_size=64, *, rng):
    return _batches(X, Y, batch_size, np.arange(X.shape[1]))


def _mb_choice(X, Y, batch_size=64, *, rng):
    return _batches(X, Y, batch_size, rng.choice(X.shape[1], X.shape[1], replace=False))


def _mb_argsort(X, Y, batch_size=64, *, rng):
    return _batches(X, Y, batch_size, np.argsort(rng.random(X.shape[1])))


def _mb_shuffle(X, Y, batch_size=64, *, rng):
    perm = np.arange(X.shape[1])
    rng.shuffle(perm)  # shuffles an arange exactly as rng.permutation(m) does
    return _batches(X, Y, batch_size, perm)


def _mb_alternative(X, Y, batch_size=64, *, rng):
    m = X.shape[1]
    perm = rng.permutation(m)
    X_shuffled, Y_shuffled = X[:, perm], Y[:, perm]
    cuts = list(range(batch_size, m, batch_size))
    return list(zip(np.split(X_shuffled, cuts, axis=1), np.split(Y_shuffled, cuts, axis=1), strict=True))


RANDOM_MINI_BATCHES = MiniBatchCheck(
    "random_mini_batches", points=2, reference=introdl.random_mini_batches, make_cases=_minibatch_cases,
    mistakes=[
        Mistake("drop_last", "the last, smaller mini-batch is missing: when m is not a multiple of batch_size "
                "the leftover m % batch_size examples form one more batch", _mb_drop_last),
        Mistake("two_permutations", "X and Y were shuffled with two different permutations, so the labels no "
                "longer belong to their examples: draw perm = rng.permutation(m) ONCE and index both with it",
                _mb_two_perms),
        Mistake("rows", "examples are the COLUMNS: slice X_shuffled[:, k:k + batch_size], not the rows "
                "X_shuffled[k:k + batch_size]", _mb_rows),
        Mistake("replacement", "some examples appear twice and others never: shuffle with one permutation, "
                "perm = rng.permutation(m), not by sampling indices with replacement", _mb_replacement),
        Mistake("no_shuffle", "the examples are not shuffled: take the columns in the order of "
                "perm = rng.permutation(m) before slicing", _mb_no_shuffle),
        Mistake("choice", OTHER_DRAW, _mb_choice),
        Mistake("argsort", OTHER_DRAW, _mb_argsort),
    ],
    alternatives=[_mb_alternative, _mb_shuffle],
)

# --- ewa -----------------------------------------------------------------------------------


def _ewa_cases(rng, hidden):
    if not hidden:
        series = np.array([4.0, 6.0, 5.0, 9.0, 7.0, 8.0])
        return [Case((series, 0.9), label="values [4, 6, 5, 9, 7, 8], beta=0.9"),
                Case((series, 0.9), {"bias_correction": True}, label="the same, bias_correction=True"),
                Case((np.round(rng.uniform(10, 20, 12), 2), 0.5), {"bias_correction": True},
                     label="12 values in [10, 20], beta=0.5, bias_correction=True")]
    cases = []
    for T, beta, corrected in ((1, 0.9, True), (40, 0.98, True), (40, 0.98, False), (25, 0.7, True),
                               (15, 0.0, True), (30, 0.95, False)):
        values = 20 + 3 * np.sin(np.arange(T) / 3) + rng.standard_normal(T)
        cases.append(Case((values, beta), {"bias_correction": corrected}))
    return cases


def _ewa(values, beta, *, bias_correction=False, correct=True, swap=False, t0=1, start_first=False,
         feed_corrected=False):
    """Exponentially weighted average with knobs for the catalogue's wrong variants."""
    keep = 1 - beta if swap else beta
    out, v = [], float(values[0]) if start_first else 0.0
    for t, theta in enumerate(values, start=1):
        v = keep * v + (1 - keep) * theta
        if bias_correction and correct:
            v_hat = v / (1 - beta ** (t - 1 + t0))
            out.append(v_hat)
            if feed_corrected:
                v = v_hat
        else:
            out.append(v)
    return np.array(out)


def _ewa_alternative(values, beta, *, bias_correction=False):
    T = len(values)
    t = np.arange(1, T + 1)
    # v_t = (1 - beta) * sum_i beta**(t - i) theta_i: a lower-triangular matrix of weights.
    weights = np.tril((1 - beta) * beta ** (t[:, None] - t[None, :]).clip(min=0))
    v = weights @ np.asarray(values, dtype=float)
    return v / (1 - beta**t) if bias_correction else v


EWA = ReferenceCheck(
    "ewa", points=2, reference=introdl.ewa, make_cases=_ewa_cases, outputs=("the array of averages",),
    mistakes=[
        Mistake("no_correction", "with bias_correction=True divide each v_t by (1 - beta**t); the output "
                "is the uncorrected average", lambda *a, **k: _ewa(*a, **k, correct=False)),
        Mistake("swapped", "beta and 1 - beta are swapped: the OLD average keeps the weight beta, "
                "v = beta * v + (1 - beta) * theta", lambda *a, **k: _ewa(*a, **k, swap=True)),
        Mistake("t_from_zero", "t counts from 1: the first value is corrected by 1 - beta**1, not by "
                "1 - beta**0 = 0 (with enumerate, use enumerate(values, start=1))",
                lambda *a, **k: _ewa(*a, **k, t0=0)),
        Mistake("t_plus_one", "the correction is off by one step: v_t is divided by 1 - beta**t with t = 1 for "
                "the first value", lambda *a, **k: _ewa(*a, **k, t0=2)),
        Mistake("start_first", "start from v_0 = 0, not from the first value (that start-up bias is what the "
                "bias correction removes)", lambda *a, **k: _ewa(*a, **k, start_first=True)),
        Mistake("feed_corrected", "the bias correction only changes the output: keep the recursion on the "
                "uncorrected v (v = beta * v + (1 - beta) * theta), and return v / (1 - beta**t)",
                lambda *a, **k: _ewa(*a, **k, feed_corrected=True)),
    ],
    alternatives=[_ewa_alternative],
)

# --- optimizer states: momentum_init, rmsprop_init, adam_init --------------------------------


def _layer_params(rng, dims):
    return layer_params(rng, dims, bias_scale=0.1, decimals=4)


def _init_cases(rng, hidden):
    dims_list = [[2, 3, 1], [4, 2]] if not hidden else [[5, 4, 3, 2], [1, 1], [3, 6]]
    cases = []
    for dims in dims_list:
        params = _layer_params(rng, dims)
        cases.append(Case((params,), label=f"params {shapes(params)}"))
    return cases


def _zeros(params, *, prefix="d", like=np.zeros_like):
    return {prefix + k: like(v) for k, v in params.items()}


def _state(keys, params, *, t=0, **zeros_kw):
    state = {"t": t} if t is not None else {}
    state.update({key: _zeros(params, **zeros_kw) for key in keys})
    return state


def _init_mistakes(keys, *, adam=False):
    name, t = " and ".join(keys), 0 if adam else None
    mistakes = [
        Mistake("keys_without_d", f"name the entries after the gradients, with a 'd' in front: "
                f"{keys[0]}['dW1'], {keys[0]}['db1'], ...", lambda p: _state(keys, p, prefix="", t=t)),
        Mistake("copy_of_params", f"{name} start at zero (np.zeros_like(W)), not as a copy of the parameters",
                lambda p: _state(keys, p, like=np.array, t=t)),
        Mistake("scalar_zeros", f"each entry of {name} is an array of zeros with the shape of its parameter "
                "(np.zeros_like(params[key])), not the number 0", lambda p: _state(keys, p, like=lambda v: 0.0, t=t)),
    ]
    if adam:
        mistakes += [
            Mistake("t_one", "t starts at 0 in the state: the update increments it before using it, so the first "
                    "step uses t = 1", lambda p: _state(keys, p, t=1)),
            Mistake("no_t", "the Adam state also holds the step counter: {'t': 0, 'v': {...}, 's': {...}}",
                    lambda p: _state(keys, p, t=None)),
        ]
    else:
        mistakes.append(Mistake("no_wrapper", f"return the state as a dict holding the zeros under "
                                f"{keys[0]!r}: {{{keys[0]!r}: {{'dW1': ..., 'db1': ...}}}}", lambda p: _zeros(p)))
    return mistakes


def _init_alternative(keys, *, adam=False):
    def init(params):
        state = {key: {f"d{name}": np.zeros(value.shape) for name, value in params.items()} for key in keys}
        if adam:
            state["t"] = 0
        return state
    return init


MOMENTUM_INIT = ReferenceCheck(
    "momentum_init", points=0.5, reference=introdl.momentum_init, make_cases=_init_cases, outputs=("the state",),
    mistakes=_init_mistakes(("v",)), alternatives=[_init_alternative(("v",))])
RMSPROP_INIT = ReferenceCheck(
    "rmsprop_init", points=0.5, reference=introdl.rmsprop_init, make_cases=_init_cases, outputs=("the state",),
    mistakes=_init_mistakes(("s",)), alternatives=[_init_alternative(("s",))])
ADAM_INIT = ReferenceCheck(
    "adam_init", points=1, reference=introdl.adam_init, make_cases=_init_cases, outputs=("the state",),
    mistakes=_init_mistakes(("v", "s"), adam=True), alternatives=[_init_alternative(("v", "s"), adam=True)])

# --- optimizer updates: several steps with the state of the student's own init ---------------

def _update_cases(specs):
    """Cases ``(params, [grads of step 1, ...])`` with keywords, from (dims, steps, kwargs) specs.

    Each parameter entry gets its own gradient scale (from 0.003 to 3), with a steady part and
    noise, so that RMSprop's and Adam's per-entry step sizes and eps matter.
    """
    def make(rng, hidden):
        cases = []
        for dims, steps, kwargs in specs[hidden]:
            params = _layer_params(rng, dims)
            scale = {k: 10 ** rng.uniform(-2.5, 0.5, v.shape) for k, v in params.items()}
            mean = {k: rng.standard_normal(v.shape) for k, v in params.items()}
            grads = [{f"d{k}": scale[k] * (mean[k] + 0.7 * rng.standard_normal(v.shape)) for k, v in params.items()}
                     for _ in range(steps)]
            settings = ", ".join(f"{k}={v:g}" for k, v in kwargs.items())
            label = f"params {shapes(params)}; {steps} steps with fixed gradients; {settings}, the rest default"
            cases.append(Case((params, grads), dict(kwargs), label=label))
        return cases
    return make


def _optimizer_alternative(source, name):
    """A student-style init/update pair from ``source``, in its own namespace (the check finds the
    init in the update's globals)."""
    namespace = {"np": np}
    exec(source, namespace)  # noqa: S102 - our own source, for its globals
    return namespace[name]


# momentum

MOMENTUM_SPECS = {
    False: [([2, 3, 1], 6, {"lr": 0.1}), ([3, 2], 6, {"lr": 0.05, "beta": 0.8})],
    True: [([4, 3, 2], 7, {"lr": 0.01, "beta": 0.95}), ([1, 1], 5, {"lr": 0.3}), ([5, 1], 6, {"lr": 0.1, "beta": 0.5})],
}


def _momentum(params, grads, state, *, lr, beta=0.9, keep=None, add=None, step_with_grad=False, in_place=False):
    keep = beta if keep is None else keep
    add = (1 - beta) if add is None else add
    v = {g: keep * state["v"][g] + add * grads[g] for g in state["v"]}
    if in_place:
        for key in params:
            params[key] -= lr * v["d" + key]
            state["v"]["d" + key][...] = v["d" + key]
        return params, state
    step = grads if step_with_grad else v
    return {k: p - lr * step["d" + k] for k, p in params.items()}, {"v": v}


MOMENTUM_SOURCE = """
def momentum_init(params):
    return {"v": {"d" + key: np.zeros(W.shape) for key, W in params.items()}}

def momentum_update(params, grads, state, *, lr, beta=0.9):
    new_params, v = {}, {}
    for key in params:
        g = "d" + key
        v[g] = state["v"][g] + (1 - beta) * (grads[g] - state["v"][g])
        new_params[key] = params[key] - lr * v[g]
    return new_params, {"v": v}
"""

MOMENTUM_UPDATE = OptimizerCheck(
    "momentum_update", points=2, reference=introdl.momentum_update, init=introdl.momentum_init,
    make_cases=_update_cases(MOMENTUM_SPECS),
    mistakes=[
        Mistake("no_one_minus_beta", "the new gradient is weighted by (1 - beta): v = beta * v + (1 - beta) * dW, "
                "so that v is an average of the gradients, not a sum about 1 / (1 - beta) times larger",
                lambda p, g, s, *, lr, beta=0.9: _momentum(p, g, s, lr=lr, beta=beta, add=1.0)),
        Mistake("step_with_gradient", "the parameters move along the average v, not along the new gradient: "
                "W = W - lr * v", lambda p, g, s, *, lr, beta=0.9: _momentum(p, g, s, lr=lr, beta=beta,
                                                                            step_with_grad=True)),
        Mistake("swapped", "beta and 1 - beta are swapped: the OLD v keeps the weight beta, "
                "v = beta * v + (1 - beta) * dW", lambda p, g, s, *, lr, beta=0.9: _momentum(
                    p, g, s, lr=lr, beta=beta, keep=1 - beta, add=beta)),
        Mistake("fixed_beta", "use the beta argument, not a fixed 0.9",
                lambda p, g, s, *, lr, beta=0.9: _momentum(p, g, s, lr=lr)),
        Mistake("in_place", IN_PLACE, lambda p, g, s, *, lr, beta=0.9: _momentum(p, g, s, lr=lr, beta=beta,
                                                                                 in_place=True)),
    ],
    alternatives=[_optimizer_alternative(MOMENTUM_SOURCE, "momentum_update")],
)

# RMSprop

RMSPROP_SPECS = {
    False: [([2, 3, 1], 6, {"lr": 0.01}), ([3, 2], 6, {"lr": 0.05, "beta2": 0.9, "eps": 1e-3})],
    True: [([4, 3, 2], 7, {"lr": 0.001, "beta2": 0.99}), ([1, 1], 5, {"lr": 0.02, "eps": 0.01}),
           ([5, 1], 6, {"lr": 0.01, "beta2": 0.8, "eps": 1e-4})],
}


def _rmsprop(params, grads, state, *, lr, beta2=0.999, eps=1e-8, keep=None, square=True, denom=None,
             in_place=False):
    keep = beta2 if keep is None else keep
    s = {g: keep * state["s"][g] + (1 - keep) * (grads[g] ** 2 if square else grads[g]) for g in state["s"]}
    denom = denom or (lambda s_, e: np.sqrt(s_) + e)
    if in_place:
        for key in params:
            params[key] -= lr * grads["d" + key] / denom(s["d" + key], eps)
            state["s"]["d" + key][...] = s["d" + key]
        return params, state
    return {k: p - lr * grads["d" + k] / denom(s["d" + k], eps) for k, p in params.items()}, {"s": s}


RMSPROP_SOURCE = """
def rmsprop_init(params):
    return {"s": {f"d{key}": 0.0 * W for key, W in params.items()}}

def rmsprop_update(params, grads, state, *, lr, beta2=0.999, eps=1e-8):
    s = {g: beta2 * state["s"][g] + (1 - beta2) * np.square(grads[g]) for g in grads}
    return {k: W - lr * grads["d" + k] / (np.sqrt(s["d" + k]) + eps) for k, W in params.items()}, {"s": s}
"""


def _rms(**knobs):
    return lambda p, g, s, *, lr, beta2=0.999, eps=1e-8: _rmsprop(p, g, s, lr=lr, beta2=beta2, eps=eps, **knobs)


RMSPROP_UPDATE = OptimizerCheck(
    "rmsprop_update", points=2, reference=introdl.rmsprop_update, init=introdl.rmsprop_init,
    make_cases=_update_cases(RMSPROP_SPECS),
    mistakes=[
        Mistake("eps_inside", "eps goes OUTSIDE the square root here: W = W - lr * dW / (np.sqrt(s) + eps)",
                _rms(denom=lambda s, e: np.sqrt(s + e))),
        Mistake("no_square", "s averages the SQUARED gradients: s = beta2 * s + (1 - beta2) * dW**2",
                _rms(square=False)),
        Mistake("beta2_swapped", "beta2 and 1 - beta2 are swapped: the OLD s keeps the weight beta2, "
                "s = beta2 * s + (1 - beta2) * dW**2", lambda p, g, s, *, lr, beta2=0.999, eps=1e-8: _rmsprop(
                    p, g, s, lr=lr, beta2=beta2, eps=eps, keep=1 - beta2)),
        Mistake("no_sqrt", "divide by the square root of s (a root mean square of the gradients), not by s",
                _rms(denom=lambda s, e: s + e)),
        Mistake("in_place", IN_PLACE, _rms(in_place=True)),
    ],
    alternatives=[_optimizer_alternative(RMSPROP_SOURCE, "rmsprop_update")],
)

# Adam

ADAM_SPECS = {
    False: [([2, 3, 1], 6, {"lr": 0.01}), ([3, 2], 6, {"lr": 0.05, "beta1": 0.8, "beta2": 0.95, "eps": 1e-4})],
    True: [([4, 3, 2], 7, {"lr": 0.001}), ([1, 1], 5, {"lr": 0.02, "beta1": 0.5, "eps": 0.01}),
           ([5, 1], 6, {"lr": 0.01, "beta2": 0.9, "eps": 1e-3}), ([2, 4], 8, {"lr": 0.003, "beta1": 0.95})],
}


def _adam(params, grads, state, *, lr, beta1=0.9, beta2=0.999, eps=1e-8, correct=True, write_back="",
          swap=False, eps_inside=False, t_used=1, t_stored=1, s_with_beta1=False, in_place=False):
    b1, b2 = (beta2, beta1) if swap else (beta1, beta2)
    t = state["t"] + t_used
    v = {g: b1 * state["v"][g] + (1 - b1) * grads[g] for g in state["v"]}
    s = {g: b2 * state["s"][g] + (1 - b2) * grads[g] ** 2 for g in state["s"]}
    if correct:
        v_hat = {g: v[g] / (1 - beta1**t) for g in v}
        s_hat = {g: s[g] / (1 - (beta1 if s_with_beta1 else beta2) ** t) for g in s}
    else:
        v_hat, s_hat = v, s
    denom = (lambda x: np.sqrt(x + eps)) if eps_inside else (lambda x: np.sqrt(x) + eps)
    new = {k: p - lr * v_hat["d" + k] / denom(s_hat["d" + k]) for k, p in params.items()}
    new_state = {"t": state["t"] + t_stored, "v": v_hat if "v" in write_back else v,
                 "s": s_hat if "s" in write_back else s}
    if in_place:
        for k in params:
            params[k][...] = new[k]
        state["t"] = new_state["t"]
        state["v"], state["s"] = new_state["v"], new_state["s"]
        return params, state
    return new, new_state


def _ad(**knobs):
    return lambda p, g, s, *, lr, beta1=0.9, beta2=0.999, eps=1e-8: _adam(p, g, s, lr=lr, beta1=beta1,
                                                                          beta2=beta2, eps=eps, **knobs)


ADAM_SOURCE = """
def adam_init(params):
    zeros = lambda: {"d" + key: np.zeros_like(W) for key, W in params.items()}
    return {"v": zeros(), "s": zeros(), "t": 0}

def adam_update(params, grads, state, *, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    new_params, v, s = {}, {}, {}
    for key, W in params.items():
        dW = grads["d" + key]
        v["d" + key] = beta1 * state["v"]["d" + key] + (1 - beta1) * dW
        s["d" + key] = beta2 * state["s"]["d" + key] + (1 - beta2) * dW * dW
        v_hat = v["d" + key] / (1 - beta1**t)
        s_hat = s["d" + key] / (1 - beta2**t)
        new_params[key] = W - lr * v_hat / (s_hat**0.5 + eps)
    return new_params, {"t": t, "v": v, "s": s}
"""

WRITE_BACK = ("the bias correction is for the step only: store the UNcorrected v and s in the returned state "
              "(the next step averages them further)")

TF1_ADAM = ("this is the TF1/Keras form of Adam, which folds both bias corrections into the step size, "
            "lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t), and adds eps to the UNcorrected sqrt(s): that moves "
            "eps, in effect to eps / sqrt(1 - beta2**t), which matters when eps is not tiny next to sqrt(s). The "
            "notebook's Adam (the paper's Algorithm 1) corrects v and s themselves: "
            "W = W - lr * v_hat / (np.sqrt(s_hat) + eps)")


def _adam_tf1(params, grads, state, *, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """TF1's AdamOptimizer and Keras's Adam: the corrections in the step size, eps on the raw sqrt(s)."""
    t = state["t"] + 1
    v = {g: beta1 * state["v"][g] + (1 - beta1) * grads[g] for g in state["v"]}
    s = {g: beta2 * state["s"][g] + (1 - beta2) * grads[g] ** 2 for g in state["s"]}
    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    return {k: p - lr_t * v["d" + k] / (np.sqrt(s["d" + k]) + eps) for k, p in params.items()}, {"t": t, "v": v, "s": s}


ADAM_UPDATE = OptimizerCheck(
    "adam_update", points=3, reference=introdl.adam_update, init=introdl.adam_init,
    make_cases=_update_cases(ADAM_SPECS),
    mistakes=[
        Mistake("no_bias_correction", "the step uses the bias-corrected averages: v_hat = v / (1 - beta1**t), "
                "s_hat = s / (1 - beta2**t), then W = W - lr * v_hat / (np.sqrt(s_hat) + eps)",
                _ad(correct=False)),
        *(Mistake(f"corrected_{which}_in_state", WRITE_BACK, _ad(write_back=which)) for which in ("vs", "v", "s")),
        Mistake("swapped_betas", "beta1 and beta2 are swapped: v (the gradients) uses beta1, s (the squared "
                "gradients) uses beta2", _ad(swap=True)),
        Mistake("eps_inside", "eps goes OUTSIDE the square root: W = W - lr * v_hat / (np.sqrt(s_hat) + eps)",
                _ad(eps_inside=True)),
        Mistake("t_from_zero", "at the first step t must be 1: increment t BEFORE the bias correction "
                "(with t = 0, 1 - beta1**0 = 0 divides by zero)", _ad(t_used=0)),
        Mistake("t_not_stored", "store the incremented t in the returned state; otherwise every step is "
                "corrected as if it were the first", _ad(t_stored=0)),
        Mistake("s_with_beta1", "s is corrected with beta2: s_hat = s / (1 - beta2**t)", _ad(s_with_beta1=True)),
        Mistake("in_place", IN_PLACE, _ad(in_place=True)),
        Mistake("tf1_keras", TF1_ADAM, _adam_tf1),
    ],
    alternatives=[_optimizer_alternative(ADAM_SOURCE, "adam_update")],
)

# --- learning-rate schedules -----------------------------------------------------------------


def _schedule_cases(visible, hidden_specs, *, label):
    def make(rng, hidden):
        specs = hidden_specs if hidden else visible
        return [Case(tuple(args), dict(kwargs), label=label(*args, **kwargs)) for args, kwargs in specs]
    return make


def _args_label(*args, **kwargs):
    names = ("epoch", "lr0", "decay_rate")
    return ", ".join([f"{n}={a:g}" for n, a in zip(names, args, strict=False)] + [f"{k}={v:g}" for k, v in
                                                                                 kwargs.items()])


INVERSE_TIME_DECAY = ReferenceCheck(
    "inverse_time_decay", points=1, reference=introdl.inverse_time_decay, outputs=("the learning rate",),
    make_cases=_schedule_cases([((e, 0.2, 1.0), {}) for e in (1, 2, 3, 4)] + [((10, 0.05, 0.5), {})],
                               [((0, 0.1, 2.0), {}), ((7, 0.01, 0.3), {}), ((25, 1.0, 0.05), {}), ((3, 0.5, 0.0), {})],
                               label=_args_label),
    mistakes=[
        Mistake("epoch_plus_one", "epochs are counted from 1 and used as they are: lr0 / (1 + decay_rate * epoch), "
                "not epoch + 1", lambda e, lr0, r: lr0 / (1 + r * (e + 1))),
        Mistake("no_one", "the denominator is 1 + decay_rate * epoch (the 1 keeps lr = lr0 at epoch 0)",
                lambda e, lr0, r: lr0 / (r * e)),
        Mistake("power", "this is inverse-time decay, lr0 / (1 + decay_rate * epoch), not an exponential "
                "lr0 / (1 + decay_rate)**epoch", lambda e, lr0, r: lr0 / (1 + r) ** e),
        Mistake("precedence", "put the whole denominator in parentheses: lr0 / (1 + decay_rate * epoch)",
                lambda e, lr0, r: lr0 / 1 + r * e),
        Mistake("epoch_minus_one", "use the epoch as it is: lr0 / (1 + decay_rate * epoch), not epoch - 1. Epochs "
                "are counted from 1, and the first epoch already runs at the decayed rate (lr0 = 0.2 with "
                "decay_rate = 1 gives 0.1 at epoch 1, as in the lecture's table)",
                lambda e, lr0, r: lr0 / (1 + r * (e - 1))),
    ],
    alternatives=[lambda epoch, lr0, decay_rate: 1 / (1 / lr0 + decay_rate * epoch / lr0)],
)


def _exp_label(epoch, lr0, base=None):
    return f"epoch={epoch}, lr0={lr0:g}" + ("" if base is None else f", base={base:g}")


EXPONENTIAL_DECAY = ReferenceCheck(
    "exponential_decay", points=1, reference=introdl.exponential_decay, outputs=("the learning rate",),
    make_cases=_schedule_cases([((1, 0.2), {}), ((10, 0.2), {}), ((5, 0.1, 0.5), {})],
                               [((0, 0.3, 0.9), {}), ((30, 0.01), {}), ((7, 1.0, 0.8), {}), ((2, 0.05, 0.99), {})],
                               label=_exp_label),
    mistakes=[
        Mistake("epoch_plus_one", "use the epoch as it is: lr0 * base**epoch, not base**(epoch + 1)",
                lambda e, lr0, base=0.95: lr0 * base ** (e + 1)),
        Mistake("power_swapped", "the epoch is the exponent: lr0 * base**epoch, not lr0 * epoch**base",
                lambda e, lr0, base=0.95: lr0 * e**base),
        Mistake("one_minus_base", "base is the factor kept each epoch (0.95 keeps 95%): lr0 * base**epoch, "
                "not (1 - base)**epoch", lambda e, lr0, base=0.95: lr0 * (1 - base) ** e),
        Mistake("fixed_base", "use the base argument, not a fixed 0.95", lambda e, lr0, base=0.95: lr0 * 0.95**e),
    ],
    alternatives=[lambda epoch, lr0, base=0.95: lr0 * np.exp(epoch * np.log(base))],
)


def _stair_label(epoch, lr0, drop, every):
    return f"epoch={epoch}, lr0={lr0:g}, drop={drop:g}, every={every}"


STAIRCASE_DECAY = ReferenceCheck(
    "staircase_decay", points=1, reference=introdl.staircase_decay, outputs=("the learning rate",),
    make_cases=_schedule_cases([((1, 0.1, 0.5, 10), {}), ((10, 0.1, 0.5, 10), {}), ((25, 0.1, 0.5, 10), {}),
                                ((6, 0.2, 0.1, 3), {}), ((8, 0.2, 0.5, 5), {})],
                               [((0, 0.3, 0.5, 4), {}), ((9, 0.05, 0.25, 3), {}), ((14, 1.0, 0.9, 5), {}),
                                ((40, 0.01, 0.5, 7), {}), ((4, 0.3, 0.5, 1), {})],
                               label=_stair_label),
    mistakes=[
        Mistake("smooth", "the rate drops in steps: use whole steps epoch // every (floor division), "
                "not epoch / every", lambda e, lr0, d, k: lr0 * d ** (e / k)),
        Mistake("modulo", "count the drops with epoch // every (how many full periods have passed), "
                "not epoch % every", lambda e, lr0, d, k: lr0 * d ** (e % k)),
        Mistake("multiply", "each drop multiplies the rate by drop once more: lr0 * drop**(epoch // every), "
                "not lr0 * drop * (epoch // every)", lambda e, lr0, d, k: lr0 * d * (e // k)),
        Mistake("epoch_minus_one", "use the epoch as it is: lr0 * drop**(epoch // every) drops for the first "
                "time at epoch = every", lambda e, lr0, d, k: lr0 * d ** ((e - 1) // k)),
        Mistake("round", "round(epoch / every) drops the rate half a period early (epoch 8 with every=5 rounds to 2 "
                "drops, but only 1 full period has passed): count the full periods with epoch // every",
                lambda e, lr0, d, k: lr0 * d ** round(e / k)),
    ],
    alternatives=[lambda epoch, lr0, drop, every: lr0 * drop ** np.floor(epoch / every)],
)

register(RANDOM_MINI_BATCHES, EWA, MOMENTUM_INIT, MOMENTUM_UPDATE, RMSPROP_INIT, RMSPROP_UPDATE, ADAM_INIT,
         ADAM_UPDATE, INVERSE_TIME_DECAY, EXPONENTIAL_DECAY, STAIRCASE_DECAY)
