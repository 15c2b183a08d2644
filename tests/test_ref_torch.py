"""The reference against PyTorch in float64: optimizers, batch norm, softmax cross-entropy, a whole MLP.

PyTorch is an independent engine here: its optimizers, ``F.batch_norm`` and ``F.cross_entropy``
and autograd share no code with introdl. Where PyTorch's conventions differ from the lecture's
(momentum's first step, batch norm's momentum and running variance), the test says so and converts.
"""

import numpy as np
import pytest

import introdl as dl

torch = pytest.importorskip("torch", reason="PyTorch not installed: pip install torch==2.13.0")
F = torch.nn.functional

STEPS = 6


def _t(array, grad=False):
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def _np(tensor):
    return tensor.detach().numpy()


def _problem(rng):
    """Two parameters of different shapes and a fixed sequence of gradients for STEPS steps."""
    params = {"W1": rng.standard_normal((3, 4)), "b1": rng.standard_normal((3, 1))}
    grads = [{"d" + k: rng.standard_normal(v.shape) * 10.0 ** rng.integers(-2, 2) for k, v in params.items()}
             for _ in range(STEPS)]
    return params, grads


def _run_torch(make_optimizer, params, grads, *, prepare=None):
    """Apply the gradient sequence with a torch optimizer; returns the parameters after each step."""
    tensors = {k: _t(v, grad=True) for k, v in params.items()}
    optimizer = make_optimizer(list(tensors.values()))
    if prepare is not None:
        prepare(optimizer, tensors)
    history = []
    for step in grads:
        for key, tensor in tensors.items():
            tensor.grad = _t(step["d" + key])
        optimizer.step()
        history.append({k: _np(v).copy() for k, v in tensors.items()})
    return history


def _run_ours(init, update, params, grads, state=None, **kwargs):
    state = init(params) if state is None else state
    history = []
    for step in grads:
        params, state = update(params, step, state, **kwargs)
        history.append(params)
    return history


def _assert_same_path(ours, theirs, what):
    for step, (a, b) in enumerate(zip(ours, theirs, strict=True), start=1):
        for key in b:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-12, atol=1e-14,
                                       err_msg=f"{what}: {key} after step {step} differs from PyTorch")


# --- optimizers ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("beta2", "eps"), [(0.999, 1e-8), (0.9, 1e-3)])
def test_rmsprop_matches_torch_rmsprop(beta2, eps, rng):
    # torch.optim.RMSprop: s = alpha s + (1 - alpha) g**2, p -= lr g / (sqrt(s) + eps): the same
    # formula as DESIGN's, with alpha = beta2 and eps outside the square root.
    params, grads = _problem(rng)
    theirs = _run_torch(lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=beta2, eps=eps), params, grads)
    ours = _run_ours(dl.rmsprop_init, dl.rmsprop_update, params, grads, lr=0.01, beta2=beta2, eps=eps)
    _assert_same_path(ours, theirs, "rmsprop")


@pytest.mark.parametrize(("beta1", "beta2", "eps"), [(0.9, 0.999, 1e-8), (0.5, 0.9, 1e-4)])
def test_adam_matches_torch_adam(beta1, beta2, eps, rng):
    # torch.optim.Adam computes lr / (1 - beta1**t) * v / (sqrt(s) / sqrt(1 - beta2**t) + eps),
    # which is DESIGN's lr * v_hat / (sqrt(s_hat) + eps) with t counted from 1.
    params, grads = _problem(rng)
    theirs = _run_torch(lambda p: torch.optim.Adam(p, lr=0.01, betas=(beta1, beta2), eps=eps), params, grads)
    ours = _run_ours(dl.adam_init, dl.adam_update, params, grads, lr=0.01, beta1=beta1, beta2=beta2, eps=eps)
    _assert_same_path(ours, theirs, "adam")


def test_adam_state_matches_torch_moments(rng):
    # torch keeps exp_avg and exp_avg_sq uncorrected, like DESIGN's stored v and s.
    params, grads = _problem(rng)
    tensors = {k: _t(v, grad=True) for k, v in params.items()}
    optimizer = torch.optim.Adam(list(tensors.values()), lr=0.01)
    state = dl.adam_init(params)
    for step in grads:
        for key, tensor in tensors.items():
            tensor.grad = _t(step["d" + key])
        optimizer.step()
        params, state = dl.adam_update(params, step, state, lr=0.01)
    for key, tensor in tensors.items():
        torch_state = optimizer.state[tensor]
        assert state["t"] == int(torch_state["step"]) == STEPS, "t should count the steps from 1"
        np.testing.assert_allclose(state["v"]["d" + key], _np(torch_state["exp_avg"]), rtol=1e-12,
                                   err_msg=f"v[d{key}] should be torch's uncorrected exp_avg")
        np.testing.assert_allclose(state["s"]["d" + key], _np(torch_state["exp_avg_sq"]), rtol=1e-12,
                                   err_msg=f"s[d{key}] should be torch's uncorrected exp_avg_sq")


@pytest.mark.parametrize("beta", [0.9, 0.5])
def test_momentum_matches_torch_sgd_with_dampening_from_a_zero_buffer(beta, rng):
    # torch's SGD momentum is buf = momentum * buf + (1 - dampening) * g; with dampening = beta
    # that is DESIGN's v = beta v + (1 - beta) g. But torch's FIRST step sets buf = g (no
    # dampening) when the state holds no buffer yet. Giving torch a zero buffer before the first
    # step makes it start like the lecture's v_0 = 0, so the two agree from step 1.
    params, grads = _problem(rng)

    def zero_buffer(optimizer, tensors):
        for tensor in tensors.values():
            optimizer.state[tensor]["momentum_buffer"] = torch.zeros_like(tensor)

    theirs = _run_torch(lambda p: torch.optim.SGD(p, lr=0.05, momentum=beta, dampening=beta), params, grads,
                        prepare=zero_buffer)
    ours = _run_ours(dl.momentum_init, dl.momentum_update, params, grads, lr=0.05, beta=beta)
    _assert_same_path(ours, theirs, "momentum")


def test_torch_momentum_first_step_equals_ours_started_from_v_equal_to_the_first_gradient(rng):
    # Without the zero buffer, torch's first step uses buf = g1. Ours with v_0 = g1 gives
    # v_1 = beta g1 + (1 - beta) g1 = g1 too, and every later step coincides.
    params, grads = _problem(rng)
    theirs = _run_torch(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.9), params, grads)
    ours = _run_ours(dl.momentum_init, dl.momentum_update, params, grads,
                     state={"v": {k: v.copy() for k, v in grads[0].items()}}, lr=0.05, beta=0.9)
    _assert_same_path(ours, theirs, "momentum from v_0 = g_1")
    fresh = _run_ours(dl.momentum_init, dl.momentum_update, params, grads, lr=0.05, beta=0.9)
    assert not np.allclose(fresh[0]["W1"], theirs[0]["W1"]), (
        "from v_0 = 0 the first step should be (1 - beta) times torch's lazily initialised one"
    )


def test_gd_matches_torch_sgd(rng):
    params, grads = _problem(rng)
    theirs = _run_torch(lambda p: torch.optim.SGD(p, lr=0.05), params, grads)
    history, current = [], params
    for step in grads:
        current = dl.gd_update(current, step, lr=0.05)
        history.append(current)
    _assert_same_path(history, theirs, "gd")


# --- batch norm ---------------------------------------------------------------------------------

def _bn_case(rng, n=4, m=6):
    Z = rng.standard_normal((n, m)) * 3 + rng.standard_normal((n, 1))
    gamma, beta = rng.uniform(0.5, 2.0, (n, 1)), rng.standard_normal((n, 1))
    running = {"mean": rng.standard_normal((n, 1)), "var": rng.uniform(0.5, 2.0, (n, 1))}
    return Z, gamma, beta, running


@pytest.mark.parametrize("m", [2, 6, 33])
def test_batchnorm_train_forward_and_running_statistics_match_torch(m, rng):
    Z, gamma, beta, running = _bn_case(rng, m=m)
    momentum, eps = 0.9, 1e-5
    out, _, new_running = dl.batchnorm_forward(Z, gamma, beta, running, mode="train", momentum=momentum, eps=eps)
    # torch normalizes (m, n) inputs; its momentum weighs the NEW batch: ours (the weight of the
    # old running value) is 1 - torch's.
    run_mean, run_var = _t(running["mean"][:, 0]), _t(running["var"][:, 0])
    expected = F.batch_norm(_t(Z.T), run_mean, run_var, weight=_t(gamma[:, 0]), bias=_t(beta[:, 0]),
                            training=True, momentum=1 - momentum, eps=eps)
    np.testing.assert_allclose(out, _np(expected).T, rtol=1e-12, atol=1e-12,
                               err_msg="train-mode output should match F.batch_norm (biased batch variance)")
    np.testing.assert_allclose(new_running["mean"][:, 0], _np(run_mean), rtol=1e-12,
                               err_msg="running mean should be momentum*old + (1-momentum)*batch mean")
    # torch updates running_var with the UNBIASED batch variance (divides by m - 1), whereas DESIGN
    # pins the biased one (divides by m). Recover torch's batch term and rescale it by (m-1)/m.
    torch_batch_var = (_np(run_var) - momentum * running["var"][:, 0]) / (1 - momentum)
    expected_var = momentum * running["var"][:, 0] + (1 - momentum) * torch_batch_var * (m - 1) / m
    np.testing.assert_allclose(new_running["var"][:, 0], expected_var, rtol=1e-10,
                               err_msg="running var should use the biased batch variance (torch's times (m-1)/m)")


def test_batchnorm_test_forward_matches_torch_eval(rng):
    Z, gamma, beta, running = _bn_case(rng)
    out, _, new_running = dl.batchnorm_forward(Z, gamma, beta, running, mode="test")
    layer = torch.nn.BatchNorm1d(Z.shape[0], eps=1e-5, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(_t(gamma[:, 0]))
        layer.bias.copy_(_t(beta[:, 0]))
        layer.running_mean.copy_(_t(running["mean"][:, 0]))
        layer.running_var.copy_(_t(running["var"][:, 0]))
    layer.eval()
    np.testing.assert_allclose(out, _np(layer(_t(Z.T))).T, rtol=1e-12, atol=1e-12,
                               err_msg="test-mode output should match BatchNorm1d.eval() on the running statistics")
    np.testing.assert_array_equal(new_running["mean"], running["mean"], err_msg="test mode must not move the mean")
    np.testing.assert_array_equal(new_running["var"], running["var"], err_msg="test mode must not move the var")


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("m", [3, 8])
def test_batchnorm_backward_matches_torch_autograd(mode, m, rng):
    Z, gamma, beta, running = _bn_case(rng, m=m)
    G = rng.standard_normal(Z.shape)
    _, cache, _ = dl.batchnorm_forward(Z, gamma, beta, running, mode=mode)
    dZ, dgamma, dbeta = dl.batchnorm_backward(G, cache)  # G = m * dJ/dout for J = sum(G * out) / m

    Zt, gt, bt = _t(Z.T, grad=True), _t(gamma[:, 0], grad=True), _t(beta[:, 0], grad=True)
    out = F.batch_norm(Zt, _t(running["mean"][:, 0]), _t(running["var"][:, 0]), weight=gt, bias=bt,
                       training=mode == "train", eps=1e-5)
    (torch.sum(_t(G.T) * out) / m).backward()
    np.testing.assert_allclose(dZ, m * _np(Zt.grad).T, rtol=1e-10, atol=1e-12,
                               err_msg=f"dZ ({mode}) should be m times torch's dJ/dZ")
    np.testing.assert_allclose(dgamma[:, 0], _np(gt.grad), rtol=1e-10, atol=1e-12,
                               err_msg=f"dgamma ({mode}) should be torch's dJ/dgamma")
    np.testing.assert_allclose(dbeta[:, 0], _np(bt.grad), rtol=1e-10, atol=1e-12,
                               err_msg=f"dbeta ({mode}) should be torch's dJ/dbeta")


# --- softmax cross-entropy ----------------------------------------------------------------------

@pytest.mark.parametrize(("C", "m", "scale"), [(3, 5, 1.0), (10, 1, 5.0), (4, 7, 300.0)])
def test_softmax_cross_entropy_and_gradient_match_torch(C, m, scale, rng):
    Z = rng.standard_normal((C, m)) * scale
    labels = rng.integers(0, C, m)
    Y = dl.one_hot(labels, C)
    Zt = _t(Z.T, grad=True)  # torch wants (m, C) logits
    loss = F.cross_entropy(Zt, torch.tensor(labels), reduction="mean")
    loss.backward()
    assert dl.softmax_cross_entropy(Z, Y) == pytest.approx(loss.item(), rel=1e-12, abs=1e-12), (
        "cost should equal F.cross_entropy (mean over examples)"
    )
    np.testing.assert_allclose(dl.softmax_cross_entropy_backward(Z, Y), m * _np(Zt.grad).T, rtol=1e-10,
                               atol=1e-12, err_msg="dZ should be m times torch's dJ/dZ")
    np.testing.assert_allclose(dl.softmax(Z), _np(torch.softmax(_t(Z), dim=0)), rtol=1e-12, atol=1e-15,
                               err_msg="softmax should match torch.softmax over the class axis")


def test_binary_cross_entropy_matches_torch_with_logits(rng):
    Z = rng.standard_normal((1, 9)) * 4
    Y = rng.integers(0, 2, (1, 9)).astype(float)
    Zt = _t(Z, grad=True)
    loss = F.binary_cross_entropy_with_logits(Zt, _t(Y))
    loss.backward()
    assert dl.binary_cross_entropy(Z, Y) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(dl.binary_cross_entropy_backward(Z, Y), 9 * _np(Zt.grad), rtol=1e-10,
                               err_msg="dZ should be m times torch's dJ/dZ")


# --- the whole network --------------------------------------------------------------------------

def _torch_cost(tparams, X, Y, *, L, hidden, output, lamd, masks, keep_probs):
    """The same MLP written directly in torch (its own batch norm, activations and losses)."""
    m = X.shape[1]
    A = _t(X.T)  # (m, n): torch's layout
    for l in range(1, L + 1):
        Z = A @ tparams[f"W{l}"].T
        if l == L:
            Z = Z + tparams[f"b{l}"].T
            break
        if f"gamma{l}" in tparams:
            Z = F.batch_norm(Z, None, None, weight=tparams[f"gamma{l}"][:, 0], bias=tparams[f"beta{l}"][:, 0],
                             training=True, eps=1e-5)
        else:
            Z = Z + tparams[f"b{l}"].T
        A = {"relu": torch.relu, "tanh": torch.tanh}[hidden](Z)
        if masks[l - 1] is not None:
            A = A * _t(masks[l - 1].T) / keep_probs[l - 1]
    if output == "softmax":
        cost = F.cross_entropy(Z, torch.tensor(Y.argmax(axis=0)))
    else:
        cost = F.binary_cross_entropy_with_logits(Z, _t(Y.T))
    weights = [tparams[f"W{l}"] for l in range(1, L + 1)]
    return cost + lamd / (2 * m) * sum(torch.sum(W**2) for W in weights)


NETWORKS = {
    # name: (layer_dims, hidden, output, m, keep_prob, lamd, batchnorm)
    "relu-softmax": ([6, 8, 5, 4], "relu", "softmax", 12, 1.0, 0.0, False),
    "tanh-sigmoid-l2": ([5, 7, 1], "tanh", "sigmoid", 9, 1.0, 0.8, False),
    "relu-softmax-dropout-l2": ([6, 9, 7, 3], "relu", "softmax", 10, (0.7, 0.85), 0.4, False),
    "relu-softmax-batchnorm": ([5, 8, 6, 3], "relu", "softmax", 16, 1.0, 0.1, True),
    "tanh-sigmoid-batchnorm-dropout": ([4, 6, 5, 1], "tanh", "sigmoid", 11, 0.8, 0.0, True),
}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_model_backward_matches_torch_autograd_on_the_same_mlp(name, rng):
    dims, hidden, output, m, keep_prob, lamd, batchnorm = NETWORKS[name]
    L = len(dims) - 1
    params = dl.initialize_parameters(dims, "he", rng=rng, batchnorm=batchnorm)
    params = {k: v + 0.2 * rng.standard_normal(v.shape) for k, v in params.items()}
    X = rng.standard_normal((dims[0], m))
    labels = rng.integers(0, dims[-1] if output == "softmax" else 2, m)
    Y = dl.one_hot(labels, dims[-1]) if output == "softmax" else labels[None, :].astype(float)
    seed = 5
    ZL, caches, _ = dl.model_forward(X, params, output=output, hidden=hidden, keep_prob=keep_prob,
                                     rng=np.random.default_rng(seed))
    cost = dl.compute_cost(ZL, Y, output=output, params=params, lamd=lamd)
    grads = dl.model_backward(ZL, Y, caches, output=output, hidden=hidden, params=params, lamd=lamd)

    # DESIGN pins the dropout mask (rng.random(A.shape) < keep_prob, layer by layer), so the same
    # seed redraws the same masks for torch.
    probs = [keep_prob] * (L - 1) if np.isscalar(keep_prob) else list(keep_prob)
    draw = np.random.default_rng(seed)
    masks = [draw.random((dims[l], m)) < p if p < 1 else None for l, p in enumerate(probs, start=1)]
    tparams = {k: _t(v, grad=True) for k, v in params.items()}
    tcost = _torch_cost(tparams, X, Y, L=L, hidden=hidden, output=output, lamd=lamd, masks=masks, keep_probs=probs)
    tcost.backward()

    assert cost == pytest.approx(tcost.item(), rel=1e-12), f"{name}: cost differs from torch's"
    assert sorted(grads) == sorted("d" + k for k in params), f"{name}: gradient keys {sorted(grads)}"
    for key, tensor in tparams.items():
        np.testing.assert_allclose(grads["d" + key], _np(tensor.grad), rtol=1e-9, atol=1e-12,
                                   err_msg=f"{name}: d{key} differs from torch autograd")
