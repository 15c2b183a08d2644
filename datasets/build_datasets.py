"""Build the data files in this folder from their published sources.

    pip install -e .[build-data]
    python datasets/build_datasets.py [--out DIR]

Writes ``digits.npz``, ``elnino.npz`` and ``MANIFEST.json`` (source, licence, arrays and
sha256 of each file). The output is byte-for-byte reproducible: ``np.savez_compressed`` stamps
every zip entry with the current time, so the archives are written here with a fixed date and
fixed compression settings instead. The same arrays are always written; the compressed bytes
(and so the sha256) depend only on the zlib that Python links against.

Needs scikit-learn and statsmodels, which ship both data sets offline; the ``introdl``
package itself reads the files with numpy alone (``introdl.datasets``).
"""

import argparse
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# 1980-01-01 is the earliest date a zip entry can carry; any fixed date would do.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]

DIGITS_SOURCE = {
    "package": "scikit-learn",
    "function": "sklearn.datasets.load_digits",
    "provenance": (
        "UCI Machine Learning Repository, 'Optical Recognition of Handwritten Digits' "
        "(optdigits): the 1,797 images of its writer-independent test set (optdigits.tes). "
        "32x32 bitmaps from NIST forms, 43 writers, divided into 4x4 blocks whose 'on' pixels "
        "are counted, giving 8x8 images with integer values 0..16."
    ),
    "citation": (
        "E. Alpaydin and C. Kaynak (1998). Optical Recognition of Handwritten Digits. "
        "UCI Machine Learning Repository. https://doi.org/10.24432/C50P49"
    ),
    "url": "https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits",
}
DIGITS_LICENCE = {
    "name": "CC BY 4.0",
    "url": "https://creativecommons.org/licenses/by/4.0/",
    "note": "UCI repository licence; credit the citation above.",
}

ELNINO_SOURCE = {
    "package": "statsmodels",
    "function": "statsmodels.datasets.elnino.load_pandas",
    "provenance": (
        "NOAA National Weather Service, Climate Prediction Center: ERSST.V3B, Nino 1+2 region "
        "(0-10 S, 90-80 W). Monthly average sea surface temperature in degrees Celsius, "
        "January 1950 to December 2010 (61 years x 12 months), flattened here into one "
        "monthly series."
    ),
    "citation": (
        "NOAA National Weather Service, Climate Prediction Center, monthly ERSST.V3B Nino 1+2 "
        "index, http://www.cpc.ncep.noaa.gov/data/indices/ (as distributed in "
        "statsmodels.datasets.elnino)."
    ),
    "url": "https://www.cpc.ncep.noaa.gov/data/indices/",
}


def sha256_of(path):
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_npz(path, arrays):
    """Write ``arrays`` (name -> ndarray) as an npz that ``np.load`` reads, reproducibly.

    Same layout as ``np.savez_compressed`` (one ``<name>.npy`` entry per array, deflated), but
    every entry gets a fixed date, permissions and host system, so equal arrays give equal bytes.
    """
    with zipfile.ZipFile(path, "w") as zf:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE)
            info.create_system = 3  # "Unix"; the default depends on the building platform
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buffer.getvalue(), compresslevel=9)


def digits_arrays():
    """The UCI digits as ``images`` (1797, 8, 8) uint8 in 0..16, ``labels`` (1797,) uint8 and
    ``targets`` (10, 1797) uint8, the labels as one-hot columns.

    The targets are data so that the notebooks before the softmax assignment can train a
    10-unit output without ``one_hot``, which that assignment grades (a sealed student bundle
    holds no code that builds them)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images
    # The pixel counts are whole numbers stored as float64; uint8 keeps them exactly in 1/8 the space.
    if not (np.array_equal(images, np.round(images)) and images.min() >= 0 and images.max() <= 16):
        raise ValueError("scikit-learn's digits are not integers in 0..16 any more; check the source")
    labels = bunch.target.astype(np.uint8)
    return {"images": images.astype(np.uint8), "labels": labels, "targets": digit_targets(labels)}


def digit_targets(labels):
    """Column ``i`` has a 1 in row ``labels[i]`` and zeros elsewhere: (10, m) uint8."""
    return (np.arange(10)[:, None] == labels[None, :]).astype(np.uint8)


def elnino_arrays():
    """The El Nino table (one row per year, one column per month) as one monthly series.

    Returns ``year`` (732,) uint16, ``month`` (732,) uint8 in 1..12 and ``temperature`` (732,)
    float64 in degrees Celsius, in time order.
    """
    from statsmodels.datasets import elnino

    table = elnino.load_pandas().data
    years = table["YEAR"].to_numpy()
    temps = table[MONTHS].to_numpy(dtype=np.float64)  # (n_years, 12)
    if np.isnan(temps).any() or not np.array_equal(years, np.round(years)):
        raise ValueError("statsmodels' El Nino table has gaps or fractional years; check the source")
    n_years = len(years)
    return {
        "year": np.repeat(years, 12).astype(np.uint16),
        "month": np.tile(np.arange(1, 13), n_years).astype(np.uint8),
        # Row-major flattening reads the table year by year, January to December.
        "temperature": temps.reshape(-1),
    }


def describe_arrays(arrays):
    return {name: {"shape": list(a.shape), "dtype": str(a.dtype)} for name, a in arrays.items()}


def build(out_dir=HERE):
    """Write both data files and ``MANIFEST.json`` into ``out_dir``; return the manifest dict."""
    import sklearn
    import statsmodels
    from statsmodels.datasets import elnino

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = {
        "digits.npz": {
            "description": ("UCI handwritten digits: 1,797 grey-level 8x8 images, their labels 0..9 "
                            "and the labels as one-hot columns (targets)."),
            "arrays_fn": digits_arrays,
            "source": DIGITS_SOURCE,
            "licence": DIGITS_LICENCE,
        },
        "elnino.npz": {
            "description": "El Nino (Nino 1+2) monthly sea surface temperature, 1950-2010, one value a month.",
            "arrays_fn": elnino_arrays,
            "source": ELNINO_SOURCE,
            # Taken from the data set's own notes rather than restated, so a change upstream shows.
            "licence": {
                "name": "Public domain",
                "note": f"statsmodels.datasets.elnino.COPYRIGHT: {elnino.COPYRIGHT!r}",
            },
        },
    }
    files = {}
    for filename, spec in specs.items():
        arrays = spec["arrays_fn"]()
        path = out_dir / filename
        write_npz(path, arrays)
        files[filename] = {
            "description": spec["description"],
            "source": spec["source"],
            "licence": spec["licence"],
            "arrays": describe_arrays(arrays),
            "bytes": path.stat().st_size,
            "sha256": sha256_of(path),
        }
    manifest = {
        "built_by": "datasets/build_datasets.py",
        "built_with": {
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "statsmodels": statsmodels.__version__,
        },
        "files": files,
    }
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    (out_dir / "MANIFEST.json").write_text(text, encoding="utf-8")
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this folder)")
    args = parser.parse_args(argv)
    manifest = build(args.out)
    for filename, entry in manifest["files"].items():
        print(f"{args.out / filename}: {entry['bytes']} bytes, sha256 {entry['sha256']}")


if __name__ == "__main__":
    main()
