"""One training step (forward, backward, Adam) of a 784-256-128-10 network, m = 512,
inverted dropout (keep_prob 0.8) and L2: the reference's readable path, its fused path, and
PyTorch CPU, in float64 and float32."""

import numpy as np

import introdl as dl
from introdl.fused import FusedStep

try:
    import torch
except ImportError:  # the table says so
    torch = None

DIMS, M, KEEP, LAMD, LR = [784, 256, 128, 10], 512, 0.8, 0.1, 1e-3


def _problem():
    rng = np.random.default_rng(0)
    X = rng.random((DIMS[0], M))
    Y = dl.one_hot(rng.integers(0, 10, M), 10)
    return X, Y, dl.initialize_parameters(DIMS, "he", rng=rng)


def readable_step():
    X, Y, params = _problem()
    rng, box = np.random.default_rng(1), [params, dl.adam_init(params)]

    def step():
        ZL, caches, _ = dl.model_forward(X, box[0], keep_prob=KEEP, rng=rng)
        grads = dl.model_backward(ZL, Y, caches, params=box[0], lamd=LAMD)
        box[0], box[1] = dl.adam_update(box[0], grads, box[1], lr=LR)

    return step


def fused_step(dtype):
    X, Y, params = _problem()
    rng = np.random.default_rng(1)
    stepper = FusedStep(params, output="softmax", keep_prob=KEEP, lamd=LAMD, optimizer="adam", dtype=dtype)
    X, Y = X.astype(dtype), Y.astype(dtype)
    return lambda: stepper.step(X, Y, rng=rng, lr=LR)


def torch_step(dtype):
    X, Y, params = _problem()
    Xt = torch.tensor(X.T, dtype=dtype)
    yt = torch.tensor(Y.argmax(axis=0))
    layers = []
    for l in range(1, len(DIMS)):
        linear = torch.nn.Linear(DIMS[l - 1], DIMS[l]).to(dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(params[f"W{l}"]))
            linear.bias.zero_()
        layers.append(linear)
        if l < len(DIMS) - 1:
            layers += [torch.nn.ReLU(), torch.nn.Dropout(1 - KEEP)]
    model = torch.nn.Sequential(*layers)
    weights = [layer.weight for layer in layers if isinstance(layer, torch.nn.Linear)]
    opt = torch.optim.Adam(model.parameters(), lr=LR)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(Xt), yt)
        loss = loss + LAMD / (2 * M) * sum((W**2).sum() for W in weights)
        loss.backward()
        opt.step()

    return step


def candidates():
    out = {"introdl readable, float64": readable_step(),
           "introdl fused, float64": fused_step(np.float64),
           "introdl fused, float32": fused_step(np.float32)}
    if torch is not None:
        out["PyTorch CPU, float64"] = torch_step(torch.float64)
        out["PyTorch CPU, float32"] = torch_step(torch.float32)
    return out


def adam_share():
    """Fraction of the readable float64 step spent in adam_update (memory bound)."""
    X, Y, params = _problem()
    rng = np.random.default_rng(1)
    ZL, caches, _ = dl.model_forward(X, params, keep_prob=KEEP, rng=rng)
    grads = dl.model_backward(ZL, Y, caches, params=params, lamd=LAMD)
    state = dl.adam_init(params)
    return lambda: dl.adam_update(params, grads, state, lr=LR)
