"""Cost of the two-sided gradient check per parameter, and of a full-network check."""

import time

import numpy as np

import introdl as dl


def network_check(dims, m=32, seed=0):
    """Gradient check of a ReLU/softmax network with L2; returns (n_params, seconds, difference)."""
    rng = np.random.default_rng(seed)
    # Non-zero biases: with zero biases an example whose hidden units are all dead gives
    # Z = b = 0 exactly in the next layer, a ReLU kink where the two-sided difference is wrong.
    params = {key: value + (0.1 * rng.standard_normal(value.shape) if key.startswith("b") else 0)
              for key, value in dl.initialize_parameters(dims, "he", rng=rng).items()}
    X = rng.standard_normal((dims[0], m))
    Y = dl.one_hot(rng.integers(0, dims[-1], m), dims[-1])

    def cost(p):
        ZL, _, _ = dl.model_forward(X, p)
        return dl.compute_cost(ZL, Y, params=p, lamd=0.1)

    ZL, caches, _ = dl.model_forward(X, params)
    grads = dl.model_backward(ZL, Y, caches, params=params, lamd=0.1)
    start = time.perf_counter()
    report = dl.gradient_check(cost, params, grads)
    seconds = time.perf_counter() - start
    return sum(v.size for v in params.values()), seconds, report.difference
