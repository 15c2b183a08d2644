"""Assignment 1 checks: the behaviour the generic catalogue test does not cover.

``split_sizes`` must return whole numbers; ``train_dev_test_split``'s message says what the
student's parts themselves show (their sizes, labels that left their examples, a valid shuffle
that is only another draw), whatever random call or helper produced them.
"""

from student_code import student_namespace

from autograder import REGISTRY
from autograder.checks import run_check

SPLIT = """
def train_dev_test_split(X, Y, ratios, *, rng):
    m = X.shape[1]
    n_dev, n_test = round(m * ratios[1]), round(m * ratios[2])
    n_train = {n_train}
    perm = {perm}
    a, b = n_train, n_train + n_dev
    return ((X[:, perm[:a]], {Y}[:, perm[:a]]), (X[:, perm[a:b]], {Y}[:, perm[a:b]]),
            (X[:, perm[b:]], {Y}[:, perm[b:]]))
"""


def _split_report(n_train="m - n_dev - n_test", perm="rng.permutation(m)", Y="Y", **extra):
    ns = student_namespace(SPLIT.format(n_train=n_train, perm=perm, Y=Y), **extra)
    result = run_check(REGISTRY["train_dev_test_split"], ns["train_dev_test_split"])
    assert result.passed < result.total
    return result.report()


def test_sizes_as_floats_lose_points_and_say_why():
    ns = student_namespace("""
def split_sizes(m, ratios):
    n_dev, n_test = round(m * ratios[1], 0), round(m * ratios[2], 0)
    return m - n_dev - n_test, n_dev, n_test
""")
    result = run_check(REGISTRY["split_sizes"], ns["split_sizes"])
    assert result.passed == 0
    assert "n_train is 6000.0, a float" in result.report()


def test_numpy_integers_are_whole_numbers():
    ns = student_namespace("""
def split_sizes(m, ratios):
    held_out = np.rint(np.array(ratios[1:]) * m).astype(int)
    return (m - held_out.sum(), *held_out)
""")
    result = run_check(REGISTRY["split_sizes"], ns["split_sizes"], hidden=True)
    assert result.passed == result.total, result.report()


def test_another_random_generator_is_told_that_only_the_draw_differs():
    report = _split_report(perm="np.random.default_rng(0).permutation(m)")
    assert "your parts are a valid shuffle, but not the draw the notebook asks for" in report


def test_labels_left_unshuffled_are_told_they_left_their_examples():
    report = _split_report(Y="Y[:, np.argsort(perm)]")
    assert "the labels no longer belong to their examples" in report


def test_wrong_sizes_point_at_split_sizes():
    # m = 20 at 70/15/15: dev and test 3 each; one example short in train leaves 4 for test.
    report = _split_report(n_train="m - n_dev - n_test - 1")
    assert ("your parts hold 13, 3 and 4 examples; for m = 20 and ratios (0.7, 0.15, 0.15) they should hold "
            "14, 3 and 3") in report
