"""Assignment 7 checks: the behaviour the generic catalogue test does not cover.

``batchnorm_backward`` is judged with the cache of the student's own ``batchnorm_forward``
(any layout), and its message says whether the forward or the backward pass is wrong. These
tests build small "student notebooks" as namespaces to check that.
"""


from student_code import student_namespace

from autograder import REGISTRY, check
from autograder.checks import run_check

FULL = {name: REGISTRY[name].points for name in ("batchnorm_forward", "batchnorm_backward")}

# Right answers with a cache layout of the student's own (a tuple in another order).
OWN_CACHE = """
def batchnorm_forward(Z, gamma, beta, running, *, mode="train", momentum=0.9, eps=1e-5):
    if running is None:
        running = {"mean": np.zeros((Z.shape[0], 1)), "var": np.ones((Z.shape[0], 1))}
    if mode == "train":
        mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
        running = {"mean": momentum * running["mean"] + (1 - momentum) * mu,
                   "var": momentum * running["var"] + (1 - momentum) * var}
    else:
        mu, var = running["mean"], running["var"]
    inv_std = 1 / np.sqrt(var + eps)
    z_norm = (Z - mu) * inv_std
    return gamma * z_norm + beta, (mode, inv_std, gamma, z_norm), running

def batchnorm_backward(dout, cache):
    mode, inv_std, gamma, z_norm = cache
    m = dout.shape[1]
    dbeta = dout.sum(axis=1, keepdims=True)
    dgamma = (dout * z_norm).sum(axis=1, keepdims=True)
    if mode == "train":
        dZ = gamma * inv_std / m * (m * dout - dbeta - z_norm * dgamma)
    else:
        dZ = gamma * inv_std * dout
    return dZ, dgamma / m, dbeta / m
"""


_student = student_namespace


def _report(name, ns, hidden=True):
    return run_check(REGISTRY[name], ns[name], hidden=hidden).report()


def test_a_cache_of_the_students_own_layout_gets_full_marks():
    ns = _student(OWN_CACHE)
    for name, points in FULL.items():
        assert check(name, ns[name], hidden=True) == points


def test_a_wrong_forward_output_with_a_right_cache_does_not_fail_the_backward():
    # beta forgotten in out: the forward fails, but its cache (z_norm, inv_std ...) is right.
    ns = _student(OWN_CACHE.replace("return gamma * z_norm + beta,", "return gamma * z_norm,"))
    assert "out = gamma * z_norm" in _report("batchnorm_forward", ns)
    assert check("batchnorm_backward", ns["batchnorm_backward"], hidden=True) == FULL["batchnorm_backward"]


# The unbiased variance (ddof=1), differentiated exactly step by step: a consistent pair.
UNBIASED_STAGED = """
def batchnorm_forward(Z, gamma, beta, running, *, mode="train", momentum=0.9, eps=1e-5):
    if running is None:
        running = {"mean": np.zeros((Z.shape[0], 1)), "var": np.ones((Z.shape[0], 1))}
    mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, ddof=1, keepdims=True)
    if mode == "train":
        running = {"mean": momentum * running["mean"] + (1 - momentum) * mu,
                   "var": momentum * running["var"] + (1 - momentum) * var}
    else:
        mu, var = running["mean"], running["var"]
    return gamma * (Z - mu) / np.sqrt(var + eps) + beta, (Z, mu, var, eps, gamma, mode), running

def batchnorm_backward(dout, cache):
    Z, mu, var, eps, gamma, mode = cache
    m = Z.shape[1]
    std = np.sqrt(var + eps)
    xc = Z - mu
    dbeta = np.mean(dout, axis=1, keepdims=True)
    dgamma = np.mean(dout * xc / std, axis=1, keepdims=True)
    dz_norm = dout * gamma
    if mode == "test":
        return dz_norm / std, dgamma, dbeta
    dvar = np.sum(dz_norm * xc, axis=1, keepdims=True) * -0.5 * std ** -3
    dZ = dz_norm / std + dvar * 2 * xc / (m - 1) - np.sum(dz_norm / std, axis=1, keepdims=True) / m
    return dZ, dgamma, dbeta
"""


def test_a_backward_consistent_with_a_wrong_forward_is_told_to_fix_the_forward():
    ns = _student(UNBIASED_STAGED)
    assert "BIASED batch variance" in _report("batchnorm_forward", ns)
    report = _report("batchnorm_backward", ns, hidden=False)
    assert "matches the numerical gradients of your batchnorm_forward" in report
    assert "fix batchnorm_forward first" in report


def test_a_wrong_backward_after_a_right_forward_names_the_backward_and_the_mistake():
    ns = _student(OWN_CACHE.replace("m * dout - dbeta - z_norm * dgamma", "m * dout - dbeta"))
    report = _report("batchnorm_backward", ns, hidden=False)
    assert "with the cache of your batchnorm_forward, which is right" in report
    assert "the error is in batchnorm_backward" in report
    assert "misses the variance term" in report


def test_both_passes_wrong_is_said_plainly():
    source = OWN_CACHE.replace("Z.var(axis=1, keepdims=True)", "Z.var(axis=1, ddof=1, keepdims=True)")
    ns = _student(source.replace("m * dout - dbeta - z_norm * dgamma", "m * dout"))
    report = _report("batchnorm_backward", ns, hidden=False)
    assert "so both need fixing" in report


def test_an_unfinished_forward_falls_back_to_the_reference_cache():
    source = OWN_CACHE.replace("    if running is None:\n        running = {",
                               "    raise NotImplementedError()\n    if running is None:\n        running = {", 1)
    ns = _student(source)
    # The backward reads the tuple in its own order, so the reference's cache breaks it: say why.
    report = _report("batchnorm_backward", ns, hidden=False)
    assert "used the reference's forward pass and cache" in report


def test_modifying_the_running_dict_in_place_is_rejected():
    source = OWN_CACHE.replace(
        '        running = {"mean": momentum * running["mean"] + (1 - momentum) * mu,\n'
        '                   "var": momentum * running["var"] + (1 - momentum) * var}',
        '        running["mean"] = momentum * running["mean"] + (1 - momentum) * mu\n'
        '        running["var"] = momentum * running["var"] + (1 - momentum) * var')
    ns = _student(source)
    assert "in place" in _report("batchnorm_forward", ns, hidden=False)
