"""The fused training path gives the same numbers as the readable one."""

import numpy as np
import pytest

import introdl as dl


def _data(rng, output, m=150):
    X = rng.standard_normal((12, m))
    if output == "softmax":
        return X, dl.one_hot(rng.integers(0, 4, m), 4), [12, 16, 8, 4]
    return X, rng.integers(0, 2, (1, m)).astype(float), [12, 16, 8, 1]


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_fused_training_matches_the_readable_path_bit_for_bit(optimizer, output):
    X, Y, dims = _data(np.random.default_rng(1), output)
    params = dl.initialize_parameters(dims, "he", rng=np.random.default_rng(2))
    kwargs = dict(output=output, optimizer=optimizer, lr=0.01, epochs=4, batch_size=32, lamd=0.3,
                  keep_prob=(0.8, 0.9), progress=False)
    plain = dl.train(params, X, Y, rng=np.random.default_rng(3), fused=False, **kwargs)
    fast = dl.train(params, X, Y, rng=np.random.default_rng(3), fused=True, **kwargs)
    for key in params:
        np.testing.assert_array_equal(fast.params[key], plain.params[key], err_msg=f"{key} differs")
    assert fast.history["cost"] == plain.history["cost"], "per-epoch costs differ"


def test_fused_float32_stays_close_to_float64():
    X, Y, dims = _data(np.random.default_rng(4), "softmax")
    params = dl.initialize_parameters(dims, "he", rng=np.random.default_rng(5))
    kwargs = dict(optimizer="adam", lr=0.005, epochs=3, batch_size=50, progress=False)
    f64 = dl.train(params, X, Y, rng=np.random.default_rng(6), **kwargs)
    f32 = dl.train(params, X, Y, rng=np.random.default_rng(6), dtype=np.float32, **kwargs)
    for key in params:
        np.testing.assert_allclose(f32.params[key], f64.params[key], rtol=1e-3, atol=1e-4, err_msg=key)


def test_float32_without_a_fused_path_is_refused():
    params = dl.initialize_parameters([3, 4, 2], "he", rng=np.random.default_rng(0), batchnorm=True)
    X, Y = np.zeros((3, 5)), dl.one_hot(np.zeros(5, int), 2)
    with pytest.raises(ValueError, match="float32 needs the fused path"):
        dl.train(params, X, Y, rng=np.random.default_rng(0), dtype=np.float32, progress=False)


@pytest.mark.parametrize("fused", [False, True])
def test_diverging_training_raises_floating_point_error_without_warnings(fused, recwarn):
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((5, 100)), dl.one_hot(rng.integers(0, 3, 100), 3)
    params = dl.initialize_parameters([5, 8, 8, 3], "he", rng=rng)
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        dl.train(params, X, Y, rng=rng, optimizer="gd", lr=1e200, epochs=5, progress=False, fused=fused)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)], "overflow warnings escaped"
