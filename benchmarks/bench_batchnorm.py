"""Batch norm forward + backward on Z of shape (256, 512): the reference's closed-form
backward, a chain-rule backward (through mean and variance, as a computational graph would
do it step by step), and PyTorch autograd."""

import numpy as np

import introdl as dl

try:
    import torch
except ImportError:
    torch = None

N, M = 256, 512


def _data():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((N, M)), 1 + 0.1 * rng.standard_normal((N, 1)),
            0.1 * rng.standard_normal((N, 1)), rng.standard_normal((N, M)))


def closed_form():
    Z, gamma, beta, dout = _data()

    def run():
        _, cache, _ = dl.batchnorm_forward(Z, gamma, beta, None)
        return dl.batchnorm_backward(dout, cache)

    return run


def chain_rule_backward(dout, Z, gamma, eps=1e-5):
    """Backward through every node of the forward graph: mu, var, inv_std, z_norm, out."""
    m = Z.shape[1]
    mu = Z.mean(axis=1, keepdims=True)
    zc = Z - mu
    var = (zc**2).mean(axis=1, keepdims=True)
    inv_std = 1 / np.sqrt(var + eps)
    z_norm = zc * inv_std
    dgamma = (dout * z_norm).sum(axis=1, keepdims=True) / m
    dbeta = dout.sum(axis=1, keepdims=True) / m
    dz_norm = dout * gamma
    dinv_std = (dz_norm * zc).sum(axis=1, keepdims=True)
    dvar = dinv_std * -0.5 * (var + eps) ** -1.5
    dzc = dz_norm * inv_std + dvar * 2 * zc / m
    dmu = -dzc.sum(axis=1, keepdims=True)
    return dzc + dmu / m, dgamma, dbeta


def chain_rule():
    Z, gamma, beta, dout = _data()

    def run():
        dl.batchnorm_forward(Z, gamma, beta, None)
        return chain_rule_backward(dout, Z, gamma)

    return run


def torch_autograd():
    Z, gamma, beta, dout = _data()
    Zt = torch.tensor(Z.T, requires_grad=True)
    bn = torch.nn.BatchNorm1d(N, eps=1e-5, momentum=0.1).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma[:, 0]))
        bn.bias.copy_(torch.tensor(beta[:, 0]))
    dout_t = torch.tensor(dout.T)

    def run():
        Zt.grad = None
        bn.zero_grad(set_to_none=True)
        bn(Zt).backward(dout_t)

    return run


def candidates():
    out = {"introdl closed-form backward": closed_form(), "chain-rule backward": chain_rule()}
    if torch is not None:
        out["PyTorch autograd"] = torch_autograd()
    return out
