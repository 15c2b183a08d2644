"""Early stopping on the dev set."""

from ._checks import as_array, check_int, check_number


def early_stopping(dev_costs, patience, *, min_delta=0.0):
    """Decide whether to stop, given the dev costs observed so far.

    Training stops once ``patience`` epochs in a row have passed without the dev cost
    improving on the best so far by more than ``min_delta``. The caller then restores the
    parameters it saved when it measured ``dev_costs[best_epoch]``.

    Parameters
    ----------
    dev_costs : sequence of float (n_epochs,)
        Dev cost after each epoch, oldest first (lower is better).
    patience : int >= 1
    min_delta : float >= 0

    Returns
    -------
    stop : bool
    best_epoch : int
        Index into ``dev_costs`` of the best cost (the first one, on ties), counted from 0;
        -1 if empty. In the lecture's epoch numbers (from 1, as in ``train``'s
        ``history["epoch"]`` and ``TrainResult.best_epoch``) that is epoch ``best_epoch + 1``.
        Assignment 2 grades this function with the index from 0, so it stays an index.
    """
    costs = as_array("dev_costs", dev_costs, ndim=1)
    patience = check_int("patience", patience, low=1)
    min_delta = check_number("min_delta", min_delta, low=0.0)
    if costs.size == 0:
        return False, -1
    best_epoch, best = 0, costs[0]
    for epoch, cost in enumerate(costs[1:], start=1):
        if cost < best - min_delta:
            best_epoch, best = epoch, cost
    stop = bool(len(costs) - 1 - best_epoch >= patience)
    return stop, int(best_epoch)

