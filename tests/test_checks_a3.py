"""Assignment 3 checks: the behaviour the generic catalogue test does not cover.

The initialization check compares the exact stated draw; a draw of the right spread in another
order must be told so. The normalizer accepts every usual way of guarding a constant feature.
"""


from student_code import student_namespace

from autograder import REGISTRY, check
from autograder.checks import run_check

_student = student_namespace


SCALES = """
SCALE = {"random": lambda n_prev, n: 0.01, "he": lambda n_prev, n: np.sqrt(2 / n_prev),
         "xavier": lambda n_prev, n: np.sqrt(1 / n_prev), "glorot": lambda n_prev, n: np.sqrt(2 / (n_prev + n))}
"""


def test_the_stated_draw_with_rng_normal_gets_full_marks():
    ns = _student(SCALES + """
def initialize_parameters(layer_dims, method="he", *, rng):
    params = {}
    for l in range(1, len(layer_dims)):
        n_prev, n = layer_dims[l - 1], layer_dims[l]
        params["W" + str(l)] = (np.zeros((n, n_prev)) if method == "zeros"
                                else rng.normal(0.0, SCALE[method](n_prev, n), (n, n_prev)))
        params["b" + str(l)] = np.zeros((n, 1))
    return params
""")
    assert check("initialize_parameters", ns["initialize_parameters"], hidden=True) == 5


def test_a_right_spread_drawn_in_another_order_is_told_about_the_stated_draw():
    ns = _student(SCALES + """
def initialize_parameters(layer_dims, method="he", *, rng):
    params = {}
    for l in range(len(layer_dims) - 1, 0, -1):  # last layer first
        n_prev, n = layer_dims[l - 1], layer_dims[l]
        scale = 0.0 if method == "zeros" else SCALE[method](n_prev, n)
        params["W" + str(l)] = rng.standard_normal((n, n_prev)) * scale
        params["b" + str(l)] = np.zeros((n, 1))
    return params
""")
    report = run_check(REGISTRY["initialize_parameters"], ns["initialize_parameters"]).report()
    assert "the shapes and the spread of your weights look right, but the numbers are not the stated draw" in report


def test_a_wrong_spread_is_not_told_that_only_the_draw_differs():
    ns = _student(SCALES + """
def initialize_parameters(layer_dims, method="he", *, rng):
    params = {}
    for l in range(len(layer_dims) - 1, 0, -1):
        n_prev, n = layer_dims[l - 1], layer_dims[l]
        scale = 0.0 if method == "zeros" else 10 * SCALE[method](n_prev, n)
        params["W" + str(l)] = rng.standard_normal((n, n_prev)) * scale
        params["b" + str(l)] = np.zeros((n, 1))
    return params
""")
    report = run_check(REGISTRY["initialize_parameters"], ns["initialize_parameters"]).report()
    assert "not the stated draw" not in report


def test_every_usual_guard_for_a_constant_feature_passes():
    for guard in ("sigma[sigma == 0] = 1", "sigma = np.where(sigma > 0, sigma, 1.0)", "sigma[sigma < 1e-8] = 1.0"):
        ns = _student(f"""
def fit_normalizer(X):
    mu = X.mean(axis=1, keepdims=True)
    sigma = X.std(axis=1, keepdims=True)
    {guard}
    return mu, sigma
""")
        assert check("fit_normalizer", ns["fit_normalizer"], hidden=True) == 3, guard


def test_the_stated_draw_with_a_wrong_scale_is_told_the_scale_not_the_draw():
    # Xavier with the fan-out: the right numbers of the draw, each layer multiplied by sqrt(1 / n).
    ns = _student(SCALES + """
def initialize_parameters(layer_dims, method="he", *, rng):
    params = {}
    for l in range(1, len(layer_dims)):
        n_prev, n = layer_dims[l - 1], layer_dims[l]
        scale = np.sqrt(1 / n) if method == "xavier" else (0.0 if method == "zeros" else SCALE[method](n_prev, n))
        params["W" + str(l)] = rng.standard_normal((n, n_prev)) * scale
        params["b" + str(l)] = np.zeros((n, 1))
    return params
""")
    report = run_check(REGISTRY["initialize_parameters"], ns["initialize_parameters"]).report()
    # The visible xavier case is [5, 2, 3]: W1 has n_prev = 5, n = 2, so sqrt(1/2) instead of sqrt(1/5).
    assert "W1 (n_prev = 5, n_l = 2) is the draw times 0.7071, and method 'xavier' multiplies it by 0.4472" in report
    assert "not the stated draw" not in report


def test_a_constant_feature_with_sigma_plus_epsilon_is_told_to_use_1():
    ns = _student("""
def fit_normalizer(X):
    mu = X.mean(axis=1, keepdims=True)
    return mu, X.std(axis=1, keepdims=True) + 1e-8
""")
    result = run_check(REGISTRY["fit_normalizer"], ns["fit_normalizer"])
    assert result.passed < result.total
    assert "set a constant feature's sigma to 1" in result.report()
