"""Tests for introdl.datasets and the files in datasets/ (no network, numpy only unless stated)."""

import hashlib
import importlib.util
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from introdl import datasets as ds

REPO_DATASETS = Path(__file__).resolve().parent.parent / "datasets"
DATA_FILES = ["digits.npz", "elnino.npz"]


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of datasets/ that the loaders read through INTRODL_DATASETS."""
    copy = tmp_path / "datasets"
    shutil.copytree(REPO_DATASETS, copy, ignore=shutil.ignore_patterns("*.py", "*.md", "__pycache__"))
    monkeypatch.setenv(ds.ENV_VAR, str(copy))
    return copy


# --- files and manifest ---------------------------------------------------------------------

def test_datasets_dir_is_the_repository_folder():
    assert ds.DATASETS_DIR == REPO_DATASETS


@pytest.mark.parametrize("filename", DATA_FILES)
def test_manifest_sha256_matches_committed_file(filename):
    manifest = json.loads((REPO_DATASETS / "MANIFEST.json").read_text(encoding="utf-8"))
    entry = manifest["files"][filename]
    path = REPO_DATASETS / filename
    assert _sha256(path) == entry["sha256"], f"{filename} does not match MANIFEST.json"
    assert path.stat().st_size == entry["bytes"]
    with np.load(path, allow_pickle=False) as npz:
        described = {name: {"shape": list(npz[name].shape), "dtype": str(npz[name].dtype)} for name in npz.files}
    assert described == entry["arrays"]
    assert entry["licence"]["name"] and entry["source"]["citation"]


def test_data_files_are_small():
    total = sum((REPO_DATASETS / f).stat().st_size for f in DATA_FILES)
    assert total < 200_000, f"data files take {total} bytes; keep them well under 1 MB"


# --- digits ---------------------------------------------------------------------------------

def test_load_digits_shapes_dtypes_and_labels():
    X, y = ds.load_digits()
    assert X.shape == (64, 1797) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=10)
    assert len(counts) == 10, "labels must be 0..9"
    assert counts.min() >= 170 and counts.max() <= 190, f"expected about 180 images per digit, got {counts}"


def test_load_digits_scaling():
    X, _ = ds.load_digits()
    X_raw, _ = ds.load_digits(scale=False)
    assert X.min() == 0.0 and X.max() == 1.0
    assert X_raw.min() == 0.0 and X_raw.max() == 16.0
    assert np.array_equal(X_raw, np.round(X_raw)), "raw pixels are whole numbers 0..16"
    np.testing.assert_array_equal(X * 16, X_raw)


def test_load_digits_returns_fresh_arrays():
    X, y = ds.load_digits()
    X[:] = -1.0
    y[:] = -1
    X2, y2 = ds.load_digits()
    assert X2.min() == 0.0 and y2.min() == 0


def test_digit_columns_are_row_major_images():
    # Pixel (0, 0) of an 8x8 digit scan is blank border in every image; the centre is often ink.
    X, _ = ds.load_digits()
    images = X.T.reshape(-1, 8, 8)
    assert images[:, 0, 0].max() == 0.0
    assert images[:, 3:5, 3:5].mean() > images[:, 0, :].mean()


# --- El Nino --------------------------------------------------------------------------------

def test_load_elnino_series():
    t, temperature = ds.load_elnino()
    assert t.shape == temperature.shape == (732,)
    assert t.dtype == temperature.dtype == np.float64
    assert t[0] == 1950.0 and t[1] == pytest.approx(1950 + 1 / 12)
    assert t[-1] == pytest.approx(2010 + 11 / 12)
    np.testing.assert_allclose(np.diff(t), 1 / 12, rtol=1e-9)
    assert np.all(np.isfinite(temperature))
    assert 15.0 < temperature.min() < temperature.max() < 32.0, "degrees Celsius of tropical sea water"
    assert temperature[0] == pytest.approx(23.11), "January 1950 in statsmodels' table"


# --- checksum and missing files -------------------------------------------------------------

def test_tampered_file_raises_checksum_error(data_copy):
    path = data_copy / "digits.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ds.DatasetError) as info:
        ds.load_digits()
    message = str(info.value)
    assert str(path.resolve()) in message
    assert _sha256(REPO_DATASETS / "digits.npz") in message, "names the expected sha256"
    assert _sha256(path) in message, "names the actual sha256"
    assert "git checkout datasets/" in message and "build_datasets.py" in message
    assert isinstance(info.value, RuntimeError)


def test_missing_file_raises_with_its_path(data_copy):
    path = data_copy / "elnino.npz"
    path.unlink()
    with pytest.raises(ds.DatasetError, match="elnino.npz") as info:
        ds.load_elnino()
    assert str(path.resolve()) in str(info.value)
    assert "git checkout datasets/" in str(info.value)


def test_file_changed_after_a_good_load_is_caught(data_copy):
    ds.load_elnino()  # verified and cached
    path = data_copy / "elnino.npz"
    data = bytearray(path.read_bytes())
    data[-30] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ds.DatasetError, match="Checksum mismatch"):
        ds.load_elnino()


def test_environment_variable_redirects_the_loader(data_copy):
    X, y = ds.load_digits()
    assert X.shape == (64, 1797)
    shutil.rmtree(data_copy)
    with pytest.raises(ds.DatasetError, match="not found"):
        ds.load_digits()


# --- mismatched digits ----------------------------------------------------------------------

PARTS = ["train", "train_dev", "dev", "test"]


def _roughness(X):
    """Mean absolute difference between horizontally adjacent pixels: noise raises it, blur lowers it."""
    return np.abs(np.diff(X.T.reshape(-1, 8, 8), axis=2)).mean()


def test_mismatched_digits_keys_shapes_and_sizes():
    d = ds.load_mismatched_digits(rng=np.random.default_rng(0))
    assert sorted(d) == sorted(f"{k}_{p}" for k in "XyY" for p in PARTS)
    sizes = {p: d[f"y_{p}"].shape[0] for p in PARTS}
    assert sizes == {"train": 1197, "train_dev": 200, "dev": 200, "test": 200}
    for p in PARTS:
        X, y, Y = d[f"X_{p}"], d[f"y_{p}"], d[f"Y_{p}"]
        assert X.shape == (64, sizes[p]) and X.dtype == np.float64
        assert y.dtype == np.int64 and set(np.unique(y)) <= set(range(10))
        assert X.min() >= 0.0 and X.max() <= 1.0
        assert Y.shape == (10, sizes[p]) and Y.dtype == np.float64
        # Each column is the one-hot column of its own label: a 1 in row y[i], zeros elsewhere.
        assert np.all(Y[y, np.arange(sizes[p])] == 1.0) and np.all(Y.sum(axis=0) == 1.0)


def test_one_hot_targets_are_the_labels_read_from_the_file():
    X, y = ds.load_digits()
    X2, Y = ds.load_digits(one_hot=True)
    np.testing.assert_array_equal(X, X2)
    assert Y.shape == (10, 1797) and Y.dtype == np.float64
    for i in (0, 1, 500, 1796):
        assert Y[:, i].tolist() == [1.0 if k == y[i] else 0.0 for k in range(10)]
    assert np.all(Y.sum(axis=0) == 1.0)


def test_mismatched_digits_parts_are_disjoint_images():
    d = ds.load_mismatched_digits(rng=np.random.default_rng(1))
    X, y = ds.load_digits()
    # The parts together use every label of the 1,797 images exactly once ...
    labels = np.concatenate([d[f"y_{p}"] for p in PARTS])
    assert np.array_equal(np.bincount(labels, minlength=10), np.bincount(y, minlength=10))
    # ... and train and train_dev are clean images of the set, none used twice (a multiset
    # check, since the source holds a few identical images).
    available = Counter(map(bytes, X.T.copy()))
    used = Counter(map(bytes, np.concatenate([d["X_train"], d["X_train_dev"]], axis=1).T.copy()))
    assert not used - available, "train / train_dev hold images that are not in the set, or reuse one"
    assert used.total() == 1397


def test_mismatched_dev_and_test_share_one_degraded_distribution():
    d = ds.load_mismatched_digits(rng=np.random.default_rng(0))
    rough = {p: _roughness(d[f"X_{p}"]) for p in PARTS}
    spread = {p: d[f"X_{p}"].std() for p in PARTS}
    assert abs(rough["dev"] - rough["test"]) < 0.02, rough
    assert abs(spread["dev"] - spread["test"]) < 0.02, spread
    assert abs(rough["train"] - rough["train_dev"]) < 0.02, rough
    assert rough["train"] - rough["dev"] > 0.08, f"dev should be blurred relative to train: {rough}"
    assert spread["train"] - spread["dev"] > 0.08, spread
    # Clean pixels are multiples of 1/16; noise moves most degraded pixels off that grid.
    for p, expect_clean in [("train", True), ("train_dev", True), ("dev", False), ("test", False)]:
        off_grid = np.mean(np.abs(d[f"X_{p}"] * 16 - np.round(d[f"X_{p}"] * 16)) > 1e-9)
        assert (off_grid == 0.0) if expect_clean else (off_grid > 0.5), (p, off_grid)


def test_mismatch_shows_as_a_dev_error_gap():
    # A nearest-centroid classifier fitted on train does about as well on train_dev as on
    # train, and clearly worse on the degraded dev and test sets: the data-mismatch gap.
    d = ds.load_mismatched_digits(rng=np.random.default_rng(0))
    centroids = np.stack([d["X_train"][:, d["y_train"] == k].mean(axis=1) for k in range(10)], axis=1)

    def error(p):
        X = d[f"X_{p}"]
        dist = ((X[:, None, :] - centroids[:, :, None]) ** 2).sum(axis=0)
        return np.mean(dist.argmin(axis=0) != d[f"y_{p}"])

    errors = {p: error(p) for p in PARTS}
    assert errors["dev"] > errors["train_dev"] + 0.03, errors
    assert errors["test"] > errors["train_dev"] + 0.03, errors


def test_mismatched_digits_is_deterministic_per_seed():
    a = ds.load_mismatched_digits(rng=np.random.default_rng(7))
    b = ds.load_mismatched_digits(rng=np.random.default_rng(7))
    c = ds.load_mismatched_digits(rng=np.random.default_rng(8))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert not np.array_equal(a["y_train"], c["y_train"])
    assert not np.array_equal(a["X_dev"], c["X_dev"])


def test_degrade_digits_without_noise_is_a_pure_blur():
    X, _ = ds.load_digits()
    out = ds.degrade_digits(X[:, :5], rng=np.random.default_rng(0), noise=0.0)
    image = X[:, 0].reshape(8, 8)
    kernel = np.array([1.0, 2.0, 1.0]) / 4
    padded = np.pad(image, 1)
    expected = np.array([[kernel @ padded[i:i + 3, j:j + 3] @ kernel for j in range(8)] for i in range(8)])
    np.testing.assert_allclose(out[:, 0].reshape(8, 8), expected)


# --- synthetic 2-D sets ---------------------------------------------------------------------

MAKERS = {
    "moons": lambda m, rng: ds.make_moons(m, rng=rng),
    "circles": lambda m, rng: ds.make_circles(m, rng=rng),
    "spirals2": lambda m, rng: ds.make_spirals(m, classes=2, rng=rng),
    "spirals3": lambda m, rng: ds.make_spirals(m, classes=3, rng=rng),
}


@pytest.mark.parametrize("name", MAKERS)
def test_synthetic_shapes_dtypes_and_balance(name):
    X, y = MAKERS[name](301, np.random.default_rng(0))
    classes = 3 if name == "spirals3" else 2
    assert X.shape == (2, 301) and X.dtype == np.float64
    assert y.shape == (301,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert len(counts) == classes and counts.max() - counts.min() <= 1, counts
    assert np.all(np.isfinite(X))
    # Shuffled: the first 30 examples already hold every class.
    assert len(np.unique(y[:30])) == classes


@pytest.mark.parametrize("name", MAKERS)
def test_synthetic_is_deterministic_per_seed(name):
    X1, y1 = MAKERS[name](100, np.random.default_rng(3))
    X2, y2 = MAKERS[name](100, np.random.default_rng(3))
    X3, _ = MAKERS[name](100, np.random.default_rng(4))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name", MAKERS)
def test_synthetic_single_example(name):
    X, y = MAKERS[name](1, np.random.default_rng(0))
    assert X.shape == (2, 1) and y.shape == (1,)


def test_noise_free_shapes_lie_on_their_curves():
    rng = np.random.default_rng(0)
    X, y = ds.make_circles(200, noise=0.0, factor=0.3, rng=rng)
    radius = np.hypot(X[0], X[1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)
    X, y = ds.make_moons(200, noise=0.0, rng=rng)
    np.testing.assert_allclose(np.hypot(X[0, y == 0], X[1, y == 0]), 1.0)
    np.testing.assert_allclose(np.hypot(X[0, y == 1] - 1.0, X[1, y == 1] - 0.5), 1.0)
    X, _ = ds.make_spirals(200, classes=3, noise=0.0, rng=rng)
    assert np.hypot(X[0], X[1]).max() <= 1.0 + 1e-12


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda rng: ds.make_moons(0, rng=rng), "m"),
        (lambda rng: ds.make_moons(10, noise=-0.1, rng=rng), "noise"),
        (lambda rng: ds.make_circles(-5, rng=rng), "m"),
        (lambda rng: ds.make_circles(10, noise=-1.0, rng=rng), "noise"),
        (lambda rng: ds.make_circles(10, factor=1.0, rng=rng), "factor"),
        (lambda rng: ds.make_spirals(0, rng=rng), "m"),
        (lambda rng: ds.make_spirals(10, noise=-0.2, rng=rng), "noise"),
        (lambda rng: ds.make_spirals(10, classes=1, rng=rng), "classes"),
        (lambda rng: ds.make_moons(10, noise=float("nan"), rng=rng), "noise"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=rf"^{argument} "):
        call(np.random.default_rng(0))


def test_non_integer_m_and_missing_rng_are_rejected():
    with pytest.raises(TypeError, match=r"^m "):
        ds.make_moons(10.5, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        ds.make_spirals(10, rng=0)
    with pytest.raises(TypeError, match="rng"):
        ds.load_mismatched_digits(rng=None)


# --- global random state --------------------------------------------------------------------

def test_global_numpy_random_state_is_untouched():
    # Reading the legacy global state is the point here: the library must never draw from it.
    before = np.random.get_state()  # noqa: NPY002
    rng = np.random.default_rng(0)
    ds.load_digits()
    ds.load_elnino()
    ds.load_mismatched_digits(rng=rng)
    ds.make_moons(50, rng=rng)
    ds.make_circles(50, rng=rng)
    ds.make_spirals(50, classes=3, rng=rng)
    after = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]


# --- rebuild from the sources ---------------------------------------------------------------

def _build_module():
    spec = importlib.util.spec_from_file_location("build_datasets", REPO_DATASETS / "build_datasets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rebuild_reproduces_the_committed_data(tmp_path):
    pytest.importorskip("sklearn", reason="rebuilding the data needs scikit-learn (pip install -e .[build-data])")
    pytest.importorskip("statsmodels", reason="rebuilding the data needs statsmodels (pip install -e .[build-data])")
    build = _build_module()
    first = build.build(tmp_path / "a")
    second = build.build(tmp_path / "b")
    for filename in DATA_FILES:
        # Two builds on one machine give identical bytes (no timestamps in the zips) ...
        assert (tmp_path / "a" / filename).read_bytes() == (tmp_path / "b" / filename).read_bytes()
        assert first["files"][filename]["sha256"] == second["files"][filename]["sha256"]
        # ... holding exactly the committed arrays. The compressed bytes also match the
        # committed ones unless Python links a different deflate (e.g. zlib-ng), so that is
        # not asserted here; test_manifest_sha256_matches_committed_file guards the commit.
        with np.load(tmp_path / "a" / filename) as new, np.load(REPO_DATASETS / filename) as old:
            assert new.files == old.files
            for name in old.files:
                np.testing.assert_array_equal(new[name], old[name], err_msg=f"{filename}:{name}")
                assert new[name].dtype == old[name].dtype
