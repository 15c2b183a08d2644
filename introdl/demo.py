"""``python -m introdl.demo``: train a network on the digits data with the reference.

Prints the learning curve summary and the test accuracy (the README quotes this run). The
graded functions come from :func:`introdl.library.function`, so the demo runs in any build
that has them, the student's own or the reference.
"""

import time

import numpy as np

import introdl as dl
from introdl.library import function


def main(seed=0):
    rng = np.random.default_rng(seed)
    one_hot, normalize = function("one_hot"), function("normalize")
    X, y = dl.load_digits()
    (X_train, y_train), (X_dev, y_dev), (X_test, y_test) = function("train_dev_test_split")(
        X, y, (0.7, 0.15, 0.15), rng=rng)
    mu, sigma = function("fit_normalizer")(X_train)
    X_train, X_dev, X_test = (normalize(A, mu, sigma) for A in (X_train, X_dev, X_test))
    params = function("initialize_parameters")([64, 128, 64, 10], "he", rng=rng)
    start = time.perf_counter()
    result = dl.train(params, X_train, one_hot(y_train, 10), X_dev=X_dev, Y_dev=one_hot(y_dev, 10),
                      rng=rng, optimizer="adam", lr=1e-3, epochs=60, batch_size=64, lamd=0.5, patience=10)
    seconds = time.perf_counter() - start
    h = result.history
    print(f"digits: {X_train.shape[1]} train, {X_dev.shape[1]} dev, {X_test.shape[1]} test examples; "
          "network 64-128-64-10, He init, Adam lr 1e-3, L2 lamd 0.5, batch 64")
    print(f"{'epoch':>5} {'cost':>8} {'train acc':>9} {'dev acc':>8}")
    for i in sorted({0, 4, 9, 19, 29, 39, len(h['epoch']) - 1} & set(range(len(h["epoch"])))):
        print(f"{h['epoch'][i]:>5} {h['cost'][i]:>8.4f} {h['train_acc'][i]:>9.2%} {h['dev_acc'][i]:>8.2%}")
    stop = f"early stopping kept epoch {result.best_epoch}" if result.best_epoch else "no early stop"
    test_acc = dl.accuracy(dl.predict(X_test, result.params), y_test)
    print(f"{stop}; training took {seconds:.1f} s; test accuracy {test_acc:.2%}")
    return test_acc


if __name__ == "__main__":
    main()
