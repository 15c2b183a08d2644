"""Plots shared by the notebooks (matplotlib; each function draws on an axis and returns it).

Not imported by ``import introdl`` (matplotlib is slow to import): use ``from introdl import plots``.
"""

import matplotlib.pyplot as plt
import numpy as np


def _axis(ax):
    return ax if ax is not None else plt.figure(figsize=(6, 4)).add_subplot()


def plot_history(history, *, keys=("cost",), ax=None, label=None, logy=False):
    """Learning curves from ``TrainResult.history``: one line per key against the epoch."""
    ax = _axis(ax)
    for key in keys:
        name = f"{label} {key}" if label else key
        ax.plot(history["epoch"], history[key], label=name)
    ax.set_xlabel("epoch")
    if logy:
        ax.set_yscale("log")
    ax.legend()
    return ax


def plot_decision_boundary(predict_fn, X, y, *, ax=None, title=None, resolution=200, pad=0.5):
    """Shade the regions a 2-D classifier assigns to each class and scatter the examples.

    Parameters
    ----------
    predict_fn : callable (2, k) -> (k,) labels
    X : ndarray (2, m)
    y : ndarray (m,) labels
    """
    ax = _axis(ax)
    x0 = np.linspace(X[0].min() - pad, X[0].max() + pad, resolution)
    x1 = np.linspace(X[1].min() - pad, X[1].max() + pad, resolution)
    G0, G1 = np.meshgrid(x0, x1)
    labels = np.asarray(predict_fn(np.vstack([G0.ravel(), G1.ravel()]))).reshape(G0.shape)
    ax.contourf(G0, G1, labels, alpha=0.3, cmap="coolwarm")
    ax.scatter(X[0], X[1], c=y, s=12, cmap="coolwarm", edgecolors="k", linewidths=0.3)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def show_digits(X, y=None, *, n=10, image_shape=(8, 8), ax_row=None):
    """Show the first ``n`` images of ``X`` (pixels per column), titled with their labels."""
    if ax_row is None:
        _, ax_row = plt.subplots(1, n, figsize=(1.2 * n, 1.5))
    for i, ax in enumerate(np.atleast_1d(ax_row)[:n]):
        ax.imshow(X[:, i].reshape(image_shape), cmap="gray_r")
        ax.set_axis_off()
        if y is not None:
            ax.set_title(str(y[i]))
    return ax_row


def plot_error_curves(x, errors, *, ax=None, xlabel=None, logx=False, title=None):
    """Error rates (in percent) against a hyperparameter: one line per named curve.

    Parameters
    ----------
    x : sequence of float (k,)
        The hyperparameter values (hidden units, lambda, ...), one per model.
    errors : dict of str -> sequence of float (k,)
        Error rates as fractions in [0, 1], e.g. ``{"train": [...], "dev": [...]}``.
    logx : bool
        Log-scale x axis (for values that span orders of magnitude; they must be > 0).
    """
    ax = _axis(ax)
    for name, values in errors.items():
        ax.plot(x, 100 * np.asarray(values, dtype=np.float64), marker="o", label=name)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel or "")
    ax.set_ylabel("error (%)")
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def plot_paths(cost_fn, paths, *, xlim, ylim, ax=None, levels=12, resolution=200, title=None):
    """Contour lines of a cost of two parameters, and the paths optimizers took on it.

    Parameters
    ----------
    cost_fn : callable (W1, W2) -> J
        Elementwise on two arrays of the same shape (a grid of the two parameters).
    paths : dict of str -> ndarray (k, 2)
        The two parameters at the start and after each step, one path per label.
    xlim, ylim : (float, float)
        The plotted ranges of the first and second parameter.
    levels : int
        Number of contour lines, spaced geometrically between the lowest and highest cost shown.
    """
    ax = _axis(ax)
    G1, G2 = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    J = np.asarray(cost_fn(G1, G2), dtype=np.float64)
    low = max(J.min(), 1e-4 * J.max()) if J.max() > 0 else J.min()
    spaced = np.geomspace(low, J.max(), levels + 1)[:-1] if low > 0 else levels
    ax.contour(G1, G2, J, levels=spaced, colors="0.75", linewidths=0.8)
    for label, path in paths.items():
        path = np.asarray(path, dtype=np.float64)
        ax.plot(path[:, 0], path[:, 1], marker="o", markersize=2.5, linewidth=1, label=label)
        ax.plot(path[0, 0], path[0, 1], "ks", markersize=4)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    if title:
        ax.set_title(title)
    if len(paths) > 1:
        ax.legend()
    return ax


def plot_trials(trials, name, *, ax=None, label=None, logx=True, transform=None, xlabel=None, ylabel="score"):
    """Scatter the score of each search trial against one of its hyperparameters.

    Parameters
    ----------
    trials : list of dict {"hparams": dict, "score": float}
        As returned by :func:`introdl.random_search` or :func:`introdl.grid_search`.
    name : str
        The hyperparameter on the x axis.
    label : str or None
        Legend entry (call again with other trials and labels to compare searches).
    logx : bool
        Log-scale x axis (for hyperparameters sampled on a log scale; values must be > 0).
    transform : callable or None
        Applied to the values before plotting, e.g. ``lambda beta: 1 - beta``.
    """
    ax = _axis(ax)
    x = np.array([t["hparams"][name] for t in trials], dtype=np.float64)
    if transform is not None:
        x = np.asarray(transform(x), dtype=np.float64)
    ax.scatter(x, [t["score"] for t in trials], s=25, alpha=0.8, label=label)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel or name)
    ax.set_ylabel(ylabel)
    if label:
        ax.legend()
    return ax


def plot_confusion_matrix(M, *, ax=None, labels=None, title=None):
    """Show a confusion matrix as an image with the count written in each cell.

    Parameters
    ----------
    M : ndarray (C, C) of int
        ``M[i, j]`` counts examples of true class ``i`` predicted as ``j``
        (see :func:`introdl.confusion_matrix`).
    labels : sequence of str or None
        Class names; ``0 .. C-1`` when None.
    """
    ax = _axis(ax)
    M = np.asarray(M)
    C = M.shape[0]
    ax.imshow(M, cmap="Blues")
    threshold = M.max() / 2 if M.size else 0
    for i in range(C):
        for j in range(C):
            ax.text(j, i, str(M[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if M[i, j] > threshold else "black")
    ticks = np.arange(C)
    names = [str(c) for c in (labels if labels is not None else ticks)]
    ax.set_xticks(ticks, names)
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    return ax


def plot_layer_stats(values, *, ax=None, ylabel="std of the activations", title=None):
    """A statistic per layer (log scale), one line per setting: vanishing and exploding signals.

    Parameters
    ----------
    values : dict of str -> sequence of float (L,)
        For each label (an initialization, a weight scale ...), the statistic of layers 1..L,
        for example the standard deviation of ``A[l]`` or the norm of ``dW[l]``. Must be > 0.
    ylabel : str
    """
    ax = _axis(ax)
    for label, stats in values.items():
        stats = np.asarray(stats, dtype=np.float64)
        ax.plot(np.arange(1, stats.size + 1), stats, marker="o", markersize=2.5, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("layer $l$")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_eps_sweep(eps_values, errors, *, ax=None, guides=None, ylabel="error", title=None):
    """Errors of finite differences against the step ``eps``, both axes logarithmic.

    On such a plot an error proportional to ``eps**k`` is a straight line of slope ``k``:
    truncation error has a positive slope (1 one-sided, 2 two-sided), round-off a slope of -1.

    Parameters
    ----------
    eps_values : sequence of float (k,), > 0
    errors : dict of str -> sequence of float (k,)
        One curve per label; zeros (an exact result) are left out of the log scale.
    guides : dict of str -> sequence of float (k,) or None
        Theoretical curves (for example ``eps**2 * C``), drawn as grey dashed or dotted lines
        (up to four).
    ylabel : str
    """
    ax = _axis(ax)
    eps_values = np.asarray(eps_values, dtype=np.float64)
    for label, err in errors.items():
        err = np.asarray(err, dtype=np.float64)
        shown = err > 0
        ax.plot(eps_values[shown], err[shown], marker="o", markersize=3, label=label)
    for (label, guide), style in zip((guides or {}).items(), ("--", ":", "-.", (0, (5, 5))), strict=False):
        ax.plot(eps_values, np.asarray(guide, dtype=np.float64), ls=style, lw=1.2, color="0.45", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\varepsilon$")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax
