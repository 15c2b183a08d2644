"""Checks for assignment 7: batch normalization, forward and backward.

The forward pass is compared with the reference on ``out`` and ``running`` only: the cache
is the student's own business. The backward pass is judged with the cache of the student's
own ``batchnorm_forward`` (found in the globals of the student's function, as in a notebook),
so any cache layout works; when that forward is missing or fails, the reference's cache is
used. On a wrong gradient the backward check also differentiates the student's forward
numerically, so that the message can say whether the forward or the backward pass is wrong.
"""

import numpy as np

import introdl

from .core import Case, Mistake, ReferenceCheck
from .judges.a7_batch_normalization import BatchnormBackwardCheck
from .registry import register

# --- shared test data ----------------------------------------------------------------------


def _bn_inputs(rng, n, m, *, running=True):
    """Pre-activations with a different mean and spread per feature, gamma != 1, beta != 0."""
    Z = rng.uniform(-2, 2, (n, 1)) + rng.uniform(0.5, 3, (n, 1)) * rng.standard_normal((n, m))
    gamma = rng.uniform(0.5, 2.0, (n, 1)) * rng.choice([-1.0, 1.0], (n, 1))
    beta = rng.uniform(-1.5, 1.5, (n, 1))
    stats = {"mean": rng.uniform(-1, 1, (n, 1)), "var": rng.uniform(0.5, 3, (n, 1))} if running else None
    return Z, gamma, beta, stats


def _forward_specs(hidden):
    """(n, m, mode, momentum, eps, with running stats): several of each kind."""
    if not hidden:
        return [(3, 5, "train", 0.9, 1e-5, False), (4, 6, "train", 0.8, 1e-5, True),
                (3, 4, "test", 0.9, 1e-5, True), (2, 3, "train", 0.9, 0.5, True)]
    return [(5, 1, "test", 0.9, 1e-5, True), (1, 7, "train", 0.7, 1e-5, True), (6, 2, "train", 0.95, 1e-3, False),
            (7, 30, "train", 0.9, 0.1, True), (4, 9, "test", 0.99, 0.3, True), (3, 1, "train", 0.9, 1e-5, True),
            (2, 11, "test", 0.9, 1e-5, False)]


def _label(n, m, mode, momentum, eps, stats):
    start = "running stats given" if stats else "running=None"
    return f"Z of shape ({n}, {m}), mode={mode!r}, momentum={momentum}, eps={eps}, {start}"


def _forward_cases(rng, hidden):
    cases = []
    for n, m, mode, momentum, eps, with_stats in _forward_specs(hidden):
        Z, gamma, beta, stats = _bn_inputs(rng, n, m, running=with_stats)
        cases.append(Case((Z, gamma, beta, stats), {"mode": mode, "momentum": momentum, "eps": eps},
                          label=_label(n, m, mode, momentum, eps, stats)))
    return cases


# --- batchnorm_forward ---------------------------------------------------------------------


def _bn(Z, gamma, beta, running, *, mode="train", momentum=0.9, eps=1e-5, axis=1, ddof=0, run_ddof=None,
        inv_std=None, scale=True, swap=False, test_batch=False, test_update=False, start_var=1.0, blend=True):
    """Batch norm forward with knobs for the catalogue's wrong variants."""
    n = Z.shape[0]
    if running is None:
        running = {"mean": np.zeros((n, 1)), "var": np.full((n, 1), start_var)}
    batch_mu = Z.mean(axis=axis, keepdims=True)
    batch_var = Z.var(axis=axis, ddof=ddof, keepdims=True)
    run_var_batch = batch_var if run_ddof is None else Z.var(axis=axis, ddof=run_ddof, keepdims=True)
    if mode == "train" or test_batch:
        mu, var = batch_mu, batch_var
    else:
        mu, var = running["mean"], running["var"]
    if mode == "train" or test_update:
        keep = 1 - momentum if swap else momentum
        if blend:
            new = {"mean": keep * running["mean"] + (1 - keep) * batch_mu,
                   "var": keep * running["var"] + (1 - keep) * run_var_batch}
        else:
            new = {"mean": batch_mu, "var": run_var_batch}
    else:
        new = {"mean": running["mean"].copy(), "var": running["var"].copy()}
    z_norm = (Z - mu) * (inv_std or (lambda v, e: 1 / np.sqrt(v + e)))(var, eps)
    out = gamma * z_norm + beta if scale else z_norm
    return out, None, new


def _forward_alternative(Z, gamma, beta, running, *, mode="train", momentum=0.9, eps=1e-5):
    if running is None:
        running = {"mean": np.zeros_like(gamma), "var": np.ones_like(gamma)}
    if mode == "test":
        mu, var = running["mean"], running["var"]
        new_running = dict(running)
    else:
        m = Z.shape[1]
        mu = np.sum(Z, axis=1, keepdims=True) / m
        var = np.sum((Z - mu) ** 2, axis=1, keepdims=True) / m
        new_running = {key: momentum * running[key] + (1 - momentum) * batch
                       for key, batch in (("mean", mu), ("var", var))}
    std = np.sqrt(var + eps)
    out = gamma * (Z - mu) / std + beta
    return out, {"Z": Z, "mu": mu, "std": std}, new_running


BATCHNORM_FORWARD = ReferenceCheck(
    "batchnorm_forward", points=5, reference=introdl.batchnorm_forward, make_cases=_forward_cases,
    outputs=("out", "cache", "running"), compare_parts=(0, 2),
    mistakes=[
        Mistake("unbiased", "use the BIASED batch variance (divide by m, np.var's default ddof=0), "
                "not the unbiased one (ddof=1)", lambda *a, **k: _bn(*a, **k, ddof=1)),
        Mistake("running_unbiased", "the running variance averages the same biased batch variance that "
                "normalizes the batch (divide by m, not m - 1)", lambda *a, **k: _bn(*a, **k, run_ddof=1)),
        Mistake("rows", "the statistics are taken over the wrong axis: each feature (row) has its own mean "
                "and variance over the m examples (columns), so use axis=1 with keepdims=True",
                lambda *a, **k: _bn(*a, **k, axis=0)),
        Mistake("eps_outside", "eps goes INSIDE the square root: divide by np.sqrt(var + eps), "
                "not by np.sqrt(var) + eps", lambda *a, **k: _bn(*a, **k, inv_std=lambda v, e: 1 / (np.sqrt(v) + e))),
        Mistake("divide_by_var", "divide by the standard deviation np.sqrt(var + eps), not by the variance",
                lambda *a, **k: _bn(*a, **k, inv_std=lambda v, e: 1 / (v + e))),
        Mistake("no_gamma_beta", "out is the normalized z_norm itself: scale and shift it, out = gamma * z_norm "
                "+ beta", lambda *a, **k: _bn(*a, **k, scale=False)),
        Mistake("momentum_swapped", "momentum and 1 - momentum are swapped: the OLD running value keeps the "
                "weight momentum, running = momentum * running + (1 - momentum) * batch",
                lambda *a, **k: _bn(*a, **k, swap=True)),
        Mistake("no_average", "the running statistics must be an exponentially weighted average "
                "(momentum * running + (1 - momentum) * batch), not the last batch's statistics",
                lambda *a, **k: _bn(*a, **k, blend=False)),
        Mistake("start_var_zero", "with running=None, start from mean 0 and variance 1 (np.ones), "
                "not variance 0", lambda *a, **k: _bn(*a, **k, start_var=0.0)),
        Mistake("test_batch_stats", "in test mode normalize with the RUNNING mean and variance, not the "
                "statistics of the batch: a prediction must not depend on the other examples",
                lambda *a, **k: _bn(*a, **k, test_batch=True)),
        Mistake("test_updates_running", "test mode must return the running statistics unchanged: only "
                "training updates them", lambda *a, **k: _bn(*a, **k, test_update=True)),
    ],
    alternatives=[_forward_alternative],
)

# --- batchnorm_backward --------------------------------------------------------------------

# Said once per report (a remark), not on every case.
def _backward_cases(rng, hidden):
    """Cases ``(dout, Z, gamma, beta, running)`` + forward keywords; the backward gets a cache."""
    if not hidden:
        specs = [(3, 5, "train", 1e-5), (4, 6, "train", 0.5), (3, 4, "test", 1e-5)]
    else:
        specs = [(5, 1, "test", 1e-5), (1, 7, "train", 1e-5), (6, 2, "train", 1e-3), (7, 30, "train", 0.1),
                 (4, 9, "test", 0.3), (2, 12, "train", 1e-5), (3, 1, "train", 1e-5)]
    cases = []
    for n, m, mode, eps in specs:
        Z, gamma, beta, stats = _bn_inputs(rng, n, m)
        dout = rng.standard_normal((n, m))
        cases.append(Case((dout, Z, gamma, beta, stats), {"mode": mode, "momentum": 0.9, "eps": eps},
                          label=f"dout and Z of shape ({n}, {m}), mode={mode!r}, eps={eps}"))
    return cases


def _bn_back(dout, cache, *, correction="full", gamma_in_dz=True, dz_scale=1.0, dgamma_norm=True,
             param_scale=None, test_like_train=False):
    """Batch norm backward on the reference cache, with knobs for the catalogue's mistakes."""
    z_norm, gamma, inv_std, mode = cache
    m = dout.shape[1]
    sum_dout = dout.sum(axis=1, keepdims=True)
    sum_dout_z = (dout * z_norm).sum(axis=1, keepdims=True)
    g = gamma if gamma_in_dz else 1.0
    if mode == "train" or test_like_train:
        terms = {"full": m * dout - sum_dout - z_norm * sum_dout_z, "mean_only": m * dout - sum_dout,
                 "none": m * dout}[correction]
        dZ = g * inv_std / m * terms
    else:
        dZ = g * inv_std * dout
    scale = 1 / m if param_scale is None else param_scale(m)
    dgamma = (sum_dout_z if dgamma_norm else sum_dout) * scale
    return dZ * dz_scale, dgamma, sum_dout * scale


# A forward/backward pair as a student would write it in a notebook: its own cache layout (a
# dict), and a backward differentiated step by step through mu and var (CS231n style). It runs
# in its own namespace, so that the check finds this forward in the backward's globals.
_STAGED_SOURCE = """
def batchnorm_forward(Z, gamma, beta, running, *, mode="train", momentum=0.9, eps=1e-5):
    if running is None:
        running = {"mean": np.zeros((Z.shape[0], 1)), "var": np.ones((Z.shape[0], 1))}
    if mode == "train":
        mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
        running = {"mean": momentum * running["mean"] + (1 - momentum) * mu,
                   "var": momentum * running["var"] + (1 - momentum) * var}
    else:
        mu, var = running["mean"], running["var"]
    out = gamma * (Z - mu) / np.sqrt(var + eps) + beta
    return out, {"Z": Z, "mu": mu, "var": var, "eps": eps, "gamma": gamma, "train": mode == "train"}, running


def batchnorm_backward(dout, cache):
    Z, mu, var, eps, gamma = (cache[k] for k in ("Z", "mu", "var", "eps", "gamma"))
    m = Z.shape[1]
    std = np.sqrt(var + eps)
    xc = Z - mu
    z_norm = xc / std
    dbeta = np.mean(dout, axis=1, keepdims=True)
    dgamma = np.mean(dout * z_norm, axis=1, keepdims=True)
    dz_norm = dout * gamma
    if not cache["train"]:
        return dz_norm / std, dgamma, dbeta
    dvar = np.sum(dz_norm * xc, axis=1, keepdims=True) * -0.5 * std ** -3
    dmu = -np.sum(dz_norm / std, axis=1, keepdims=True) - 2 * dvar * np.mean(xc, axis=1, keepdims=True)
    return dz_norm / std + dvar * 2 * xc / m + dmu / m, dgamma, dbeta
"""


def _staged_backward():
    namespace = {"np": np}
    exec(_STAGED_SOURCE, namespace)  # noqa: S102 - our own source, for its globals
    return namespace["batchnorm_backward"]


BATCHNORM_BACKWARD = BatchnormBackwardCheck(
    "batchnorm_backward", points=5, reference=introdl.batchnorm_backward, make_cases=_backward_cases,
    forward=introdl.batchnorm_forward,
    mistakes=[
        Mistake("no_correction", "dZ misses both correction terms: in train mode mu and var depend on every "
                "example, so dZ = gamma * inv_std / m * (m * dout - sum(dout) - z_norm * sum(dout * z_norm)), "
                "not just gamma * inv_std * dout", lambda d, c: _bn_back(d, c, correction="none")),
        Mistake("mean_only", "dZ misses the variance term: subtract z_norm * sum(dout * z_norm) as well as "
                "sum(dout)", lambda d, c: _bn_back(d, c, correction="mean_only")),
        Mistake("no_gamma_dz", "dZ should be multiplied by gamma (out = gamma * z_norm + beta, so dz_norm = "
                "gamma * dout)", lambda d, c: _bn_back(d, c, gamma_in_dz=False)),
        Mistake("dz_scale", "dZ carries m * dJ/dZ, like dout: the factor in front is gamma * inv_std / m with "
                "the bracket (m * dout - ...), no extra 1/m", lambda d, c: _bn_back(d, c, dz_scale=1 / d.shape[1])),
        Mistake("dgamma_no_znorm", "dgamma multiplies dout by z_norm before summing: "
                "dgamma = (1/m) * sum(dout * z_norm)", lambda d, c: _bn_back(d, c, dgamma_norm=False)),
        Mistake("params_not_averaged", "dgamma and dbeta are gradients of the MEAN cost: divide the sums "
                "by m once", lambda d, c: _bn_back(d, c, param_scale=lambda m: 1.0)),
        Mistake("params_twice", "dgamma and dbeta were divided by m twice: dout already carries m * dJ/dout, "
                "so divide the sums by m exactly once", lambda d, c: _bn_back(d, c, param_scale=lambda m: m**-2.0)),
        Mistake("test_like_train", "in test mode the running statistics are constants, so dZ = gamma * "
                "inv_std * dout, without the correction terms of train mode",
                lambda d, c: _bn_back(d, c, test_like_train=True)),
    ],
    alternatives=[_staged_backward()],
)

register(BATCHNORM_FORWARD, BATCHNORM_BACKWARD)
