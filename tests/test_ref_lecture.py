"""The lecture's worked numbers and closed forms, reproduced by the reference."""

import numpy as np
import pytest

import introdl as dl

# --- softmax ------------------------------------------------------------------------------------

def test_softmax_of_the_lecture_example():
    A = dl.softmax(np.array([[5.0], [2.0], [-1.0], [3.0]]))
    np.testing.assert_allclose(A[:, 0], [0.842, 0.042, 0.002, 0.114], atol=5e-4,
                               err_msg="the lecture's softmax([5, 2, -1, 3]) ~ [0.842, 0.042, 0.002, 0.114]")
    assert A.sum() == pytest.approx(1.0, abs=1e-15), "softmax columns should sum to 1"


def test_softmax_with_two_classes_is_logistic_regression(rng):
    Z = rng.standard_normal((2, 8)) * 3
    y = rng.integers(0, 2, 8)
    z = Z[1:] - Z[:1]  # the logistic logit of class 1
    sigmoid = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(dl.softmax(Z)[1:], sigmoid, rtol=1e-12,
                               err_msg="with C = 2, softmax's class-1 probability should be sigmoid(z1 - z0)")
    logistic = -np.mean(y * np.log(sigmoid[0]) + (1 - y) * np.log(1 - sigmoid[0]))
    assert dl.softmax_cross_entropy(Z, dl.one_hot(y, 2)) == pytest.approx(logistic, rel=1e-12), (
        "with C = 2 the cross-entropy should be the logistic-regression cost"
    )
    assert dl.binary_cross_entropy(z, y[None, :].astype(float)) == pytest.approx(logistic, rel=1e-12)
    dZ = dl.softmax_cross_entropy_backward(Z, dl.one_hot(y, 2))
    np.testing.assert_allclose(dZ[1], sigmoid[0] - y, rtol=1e-12, atol=1e-15,
                               err_msg="with C = 2, dZ for class 1 should be the logistic a - y")
    np.testing.assert_allclose(dZ[0], -dZ[1], atol=1e-15, err_msg="the two rows of dZ should cancel")


@pytest.mark.parametrize("big", [1e4, -1e4, 1e300])
def test_large_logits_give_a_finite_cost(big):
    Z = np.array([[big, 0.0], [0.0, big], [1.0, -1.0]])
    Y = dl.one_hot(np.array([2, 0]), 3)  # the true class is not the huge one
    cost = dl.softmax_cross_entropy(Z, Y)
    A = dl.softmax(Z)
    assert np.all(np.isfinite(A)), f"softmax should stay finite for logits of {big:g}, got {A}"
    assert np.isfinite(cost), f"cross-entropy should stay finite for logits of {big:g}, got {cost}"
    if big == 1e4:
        # -log softmax = logsumexp - z_true ~ 1e4 - 1 and 1e4 - 0: the mean is (2e4 - 1) / 2.
        assert cost == pytest.approx((2e4 - 1) / 2, rel=1e-12), "cost of a confidently wrong softmax"
    bce = dl.binary_cross_entropy(np.array([[1e4, -1e4]]), np.array([[0.0, 1.0]]))
    assert bce == pytest.approx(1e4, rel=1e-12), f"binary cross-entropy of wrong logits +-1e4 should be 1e4, got {bce}"


# --- learning-rate decay ------------------------------------------------------------------------

def test_inverse_time_decay_reproduces_the_lecture_table():
    rates = [dl.inverse_time_decay(epoch, 0.2, 1) for epoch in (1, 2, 3, 4)]
    np.testing.assert_allclose(rates, [0.1, 0.0667, 0.05, 0.04], atol=5e-5,
                               err_msg="lr0 = 0.2, decay_rate = 1 should give 0.1, 0.0667, 0.05, 0.04")


def test_other_schedules_follow_their_formulas():
    assert dl.exponential_decay(3, 0.2) == pytest.approx(0.95**3 * 0.2)
    assert dl.sqrt_decay(4, 0.2, 0.5) == pytest.approx(0.5 / 2 * 0.2)
    assert [dl.staircase_decay(e, 1.0, 0.5, 10) for e in (0, 9, 10, 25)] == pytest.approx([1, 1, 0.5, 0.25])


# --- bias and variance --------------------------------------------------------------------------

@pytest.mark.parametrize(("train", "dev", "high_bias", "high_variance"), [
    (0.01, 0.11, False, True),
    (0.15, 0.16, True, False),
    (0.15, 0.30, True, True),
    (0.005, 0.01, False, False),
])
def test_diagnose_reproduces_the_four_case_table(train, dev, high_bias, high_variance):
    d = dl.diagnose(train, dev)
    assert (d.high_bias, d.high_variance) == (high_bias, high_variance), (
        f"train {train:.1%} / dev {dev:.1%}: expected high_bias={high_bias}, high_variance={high_variance}, "
        f"got {d.high_bias}, {d.high_variance} ({d.label})"
    )
    assert d.avoidable_bias == pytest.approx(train) and d.variance == pytest.approx(dev - train)
    assert ("high bias" in d.label) == high_bias and ("high variance" in d.label) == high_variance, d.label


def test_diagnose_uses_human_error_as_the_bias_baseline():
    # 15% train error is no bias problem when humans also err 15% of the time (blurry images).
    d = dl.diagnose(0.15, 0.16, human_error=0.15)
    assert not d.high_bias and d.avoidable_bias == pytest.approx(0.0)


# --- gradient checking --------------------------------------------------------------------------

def test_two_sided_difference_of_theta_cubed_is_far_more_accurate():
    eps = 0.01
    two_sided = dl.numerical_gradient(lambda t: float(t[0] ** 3), np.array([1.0]), eps=eps)[0]
    one_sided = ((1 + eps) ** 3 - 1**3) / eps
    assert two_sided == pytest.approx(3.0001, abs=1e-10), f"the lecture's two-sided value is 3.0001, got {two_sided}"
    assert one_sided == pytest.approx(3.0301, abs=1e-10), f"the lecture's one-sided value is 3.0301, got {one_sided}"
    # Errors O(eps**2) = 1e-4 against O(eps) = 0.03, for the true derivative 3.
    assert abs(two_sided - 3) == pytest.approx(1e-4, rel=1e-6) and abs(one_sided - 3) == pytest.approx(0.0301)


def test_relative_difference_formula():
    a, b = np.array([3.0, 4.0]), np.array([0.0, 0.0])
    assert dl.relative_difference(a, b) == pytest.approx(1.0), "||a - 0|| / (||a|| + 0) is 1"
    assert dl.relative_difference(a, a) == 0.0
    assert dl.relative_difference(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(np.sqrt(2) / 2)


# --- vanishing and exploding signals ------------------------------------------------------------

@pytest.mark.parametrize("L", [5, 20, 60])
@pytest.mark.parametrize("factor", [1.5, 0.5])
def test_deep_linear_network_grows_or_vanishes_as_factor_to_the_L(factor, L, rng):
    n = 3
    params = {}
    for l in range(1, L + 1):
        params[f"W{l}"], params[f"b{l}"] = factor * np.eye(n), np.zeros((n, 1))
    X = rng.standard_normal((n, 4))
    ZL, _, _ = dl.model_forward(X, params, hidden="linear")
    np.testing.assert_allclose(ZL, factor**L * X, rtol=1e-12,
                               err_msg=f"y_hat should be {factor}**L x for weights {factor} I (L={L})")


# --- initialization -----------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "std"), [
    ("he", lambda n_prev, n: np.sqrt(2 / n_prev)),
    ("xavier", lambda n_prev, n: np.sqrt(1 / n_prev)),
    ("glorot", lambda n_prev, n: np.sqrt(2 / (n_prev + n))),
    ("random", lambda n_prev, n: 0.01),
])
def test_initialization_standard_deviation_on_big_layers(method, std, rng):
    dims = [800, 200, 1200]  # fan-in and fan-out differ, so the three formulas differ
    params = dl.initialize_parameters(dims, method, rng=rng)
    for l in (1, 2):
        W, n_prev, n = params[f"W{l}"], dims[l - 1], dims[l]
        assert W.shape == (n, n_prev), f"W{l} should have shape {(n, n_prev)}, got {W.shape}"
        expected = std(n_prev, n)
        # 160,000+ draws: the sample std is within about 0.2% of the true one.
        assert W.std() == pytest.approx(expected, rel=0.02), (
            f"{method}: std of W{l} should be {expected:.5f}, got {W.std():.5f}"
        )
        assert abs(W.mean()) < 0.02 * expected, f"{method}: W{l} should have mean 0, got {W.mean():.2e}"
        np.testing.assert_array_equal(params[f"b{l}"], np.zeros((n, 1)), err_msg="biases start at zero")


def test_uniform_initialization_is_a_framework_default_not_a_graded_method(rng):
    dims = [800, 200, 1200]
    params = dl.initialize_uniform(dims, rng=rng)
    for l in (1, 2):
        W, n_prev = params[f"W{l}"], dims[l - 1]
        bound = 1 / np.sqrt(n_prev)
        assert W.shape == (dims[l], n_prev) and np.abs(W).max() <= bound
        # U(-a, a) has standard deviation a / sqrt(3): none of He, Xavier or Glorot.
        assert W.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)
        assert np.abs(W).max() > 0.99 * bound, "the draws should fill the interval"
        np.testing.assert_array_equal(params[f"b{l}"], np.zeros((dims[l], 1)))


def _seeded(seed):
    return np.random.default_rng(seed)


def test_with_batchnorm_adds_gamma_and_beta_to_the_hidden_layers_and_keeps_the_weights(rng):
    plain = dl.initialize_parameters([5, 4, 3, 2], rng=_seeded(7))
    bn = dl.with_batchnorm(plain)
    assert list(bn) == ["W1", "gamma1", "beta1", "W2", "gamma2", "beta2", "W3", "b3"]
    for l, n in ((1, 4), (2, 3)):
        np.testing.assert_array_equal(bn[f"gamma{l}"], np.ones((n, 1)))
        np.testing.assert_array_equal(bn[f"beta{l}"], np.zeros((n, 1)))
    for key in ("W1", "W2", "W3", "b3"):
        np.testing.assert_array_equal(bn[key], plain[key])
        assert not np.shares_memory(bn[key], plain[key])
    # The same network as initialize_parameters(..., batchnorm=True) draws from the same seed.
    direct = dl.initialize_parameters([5, 4, 3, 2], rng=_seeded(7), batchnorm=True)
    assert list(direct) == list(bn) and all(np.array_equal(direct[k], bn[k]) for k in bn)


def test_zeros_initialization_is_all_zeros(rng):
    params = dl.initialize_parameters([4, 3, 2], "zeros", rng=rng)
    assert all(np.all(v == 0) for v in params.values()), "zeros init should set every parameter to 0"


# --- hyperparameter search ----------------------------------------------------------------------

def test_log_uniform_sampling_gives_each_decade_the_same_share(rng):
    values = dl.sample_log_uniform(1e-4, 1.0, rng=rng, size=200_000)
    assert values.min() >= 1e-4 and values.max() <= 1.0, "samples should stay within [1e-4, 1]"
    edges = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    shares = np.histogram(values, bins=edges)[0] / values.size
    # Binomial standard deviation sqrt(0.25 * 0.75 / 2e5) ~ 0.001.
    np.testing.assert_allclose(shares, 0.25, atol=0.006, err_msg=f"expected 25% per decade, got {shares}")


def test_sample_beta_is_uniform_in_log_of_one_minus_beta(rng):
    beta = dl.sample_beta(0.9, 0.999, rng=rng, size=200_000)
    assert beta.min() >= 0.9 and beta.max() <= 0.999, "beta should stay within [0.9, 0.999]"
    r = np.log10(1 - beta)  # uniform on [-3, -1]
    np.testing.assert_allclose(np.quantile(r, [0.25, 0.5, 0.75]), [-2.5, -2.0, -1.5], atol=0.01,
                               err_msg="log10(1 - beta) should be uniform on [-3, -1]")
    assert np.mean(beta > 0.99) == pytest.approx(0.5, abs=0.006), (
        "half the samples should lie in 0.99..0.999 (as many as in 0.9..0.99)"
    )


def test_scalar_samples_are_floats(rng):
    assert isinstance(dl.sample_log_uniform(1e-3, 1e-1, rng=rng), float)
    assert 0.9 <= dl.sample_beta(0.9, 0.999, rng=rng) <= 0.999


# --- data splits --------------------------------------------------------------------------------

@pytest.mark.parametrize(("ratios", "sizes"), [
    ((0.6, 0.2, 0.2), (600_000, 200_000, 200_000)),
    ((0.98, 0.01, 0.01), (980_000, 10_000, 10_000)),
])
def test_split_sizes_of_a_million_examples(ratios, sizes, rng):
    assert dl.split_sizes(1_000_000, ratios) == sizes, f"{ratios} of 1,000,000 should be {sizes}"
    X = np.arange(1_000_000, dtype=np.float64)[None, :]
    parts = dl.train_dev_test_split(X, X[0].copy(), ratios, rng=rng)
    assert tuple(p[0].shape[1] for p in parts) == sizes, "the split's parts should have these sizes"
    together = np.sort(np.concatenate([p[0][0] for p in parts]))
    np.testing.assert_array_equal(together, X[0], err_msg="every example should land in exactly one part")
    for X_part, Y_part in parts:
        np.testing.assert_array_equal(X_part[0], Y_part, err_msg="X and Y columns should stay paired")


# --- exponentially weighted averages ------------------------------------------------------------

def test_ewa_bias_correction_makes_the_first_value_exact(rng):
    theta = rng.uniform(10, 30, 50)  # temperatures
    corrected = dl.ewa(theta, 0.98, bias_correction=True)
    raw = dl.ewa(theta, 0.98)
    assert corrected[0] == pytest.approx(theta[0], rel=1e-12), "with bias correction v_1 should equal theta_1"
    assert raw[0] == pytest.approx(0.02 * theta[0], rel=1e-12), "without it v_1 = (1 - beta) theta_1"


def test_ewa_matches_its_closed_form(rng):
    theta, beta = rng.standard_normal(30), 0.9
    t = np.arange(1, 31)
    # v_t = (1 - beta) sum_{i <= t} beta**(t - i) theta_i
    expected = np.array([(1 - beta) * np.sum(beta ** (k - t[:k]) * theta[:k]) for k in t])
    np.testing.assert_allclose(dl.ewa(theta, beta), expected, rtol=1e-12)
    np.testing.assert_allclose(dl.ewa(theta, beta, bias_correction=True), expected / (1 - beta**t), rtol=1e-12)


def test_ewa_of_a_constant_with_bias_correction_is_that_constant():
    np.testing.assert_allclose(dl.ewa(np.full(20, 7.0), 0.9, bias_correction=True), 7.0, rtol=1e-12,
                               err_msg="bias correction should remove the pull toward v_0 = 0")
