"""introdl: a numpy reference implementation of "Tuning DNN" (Introduction to Deep Learning, ch. 3).

Conventions: examples are columns (``X`` is ``(n_x, m)``), parameters live in a dict
``{"W1", "b1", ...}`` and gradients in ``{"dW1", "db1", ...}``, randomness comes only from a
keyword ``rng: numpy.random.Generator``, arrays are float64 and inputs are never modified.

Gradient names. A backward function takes the gradient of the cost with respect to what its
forward function returned (the *upstream* gradient) and returns the gradient with respect to
what its forward function received. The name says which array of the layer it belongs to,
as in the lecture: ``dA`` for an activation ``A`` (the input of ``relu_backward``,
``sigmoid_backward``, ``tanh_backward`` and ``dropout_backward``, which returns ``dA`` of
the activation before dropout), ``dZ`` for a pre-activation ``Z`` (the input of
``linear_backward``, which returns ``dA_prev`` for the previous layer's ``A``), and
``dout`` in ``batchnorm_backward`` for the output of batch norm (the lecture's Z tilde,
which feeds the activation), from which it returns ``dZ``. The output layer starts the
chain: ``softmax_cross_entropy_backward(Z, Y)`` and ``binary_cross_entropy_backward(Z, Y)``
take the logits and labels, not an upstream gradient, and return ``dZ = A - Y``. All these
arrays (``dA``, ``dZ``, ``dout``, shape (n, m)) carry ``m * dJ/dA``, ``m * dJ/dZ``,
``m * dJ/dout`` for the mean cost ``J`` over ``m`` examples, which is why ``dZ`` of the
output is ``A - Y`` without a ``1/m``. The ``1/m`` is applied where the parameter gradients
are formed, so ``dW``, ``db`` (``linear_backward``) and ``dgamma``, ``dbeta``
(``batchnorm_backward``) are exact gradients of ``J``.
"""

from .activations import (
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from .augmentation import flip_horizontal, random_flip, random_shift
from .averages import ewa
from .batchnorm import batchnorm_backward, batchnorm_forward
from .datasets import (
    DatasetError,
    load_digits,
    load_elnino,
    load_mismatched_digits,
    make_circles,
    make_moons,
    make_spirals,
)
from .diagnosis import Diagnosis, diagnose
from .dropout import dropout_backward, dropout_forward
from .early_stopping import early_stopping
from .gradient_check import (
    GradCheckReport,
    dict_to_vector,
    eps_sweep,
    gradient_check,
    numerical_gradient,
    relative_difference,
    vector_to_dict,
)
from .initialization import initialize_parameters, initialize_uniform, with_batchnorm
from .linear import linear_backward, linear_forward
from .losses import binary_cross_entropy, binary_cross_entropy_backward
from .metrics import accuracy, confusion_matrix, error_rate
from .minibatch import random_mini_batches
from .network import compute_cost, model_backward, model_forward, predict, predict_proba
from .normalization import fit_normalizer, normalize
from .optimizers import (
    adam_init,
    adam_update,
    gd_update,
    momentum_init,
    momentum_update,
    rmsprop_init,
    rmsprop_update,
)
from .penalties import l1_penalty, l1_penalty_grads, l2_penalty, l2_penalty_grads
from .schedules import exponential_decay, inverse_time_decay, sqrt_decay, staircase_decay
from .search import best_trial, coarse_to_fine, grid_search, random_search, sample_beta, sample_log_uniform
from .softmax import log_softmax, one_hot, softmax, softmax_cross_entropy, softmax_cross_entropy_backward
from .splits import split_sizes, train_dev_test_split
from .training import TrainResult, train

__all__ = [
    "accuracy", "adam_init", "adam_update", "batchnorm_backward", "batchnorm_forward", "best_trial",
    "binary_cross_entropy", "binary_cross_entropy_backward", "coarse_to_fine", "compute_cost",
    "confusion_matrix", "DatasetError", "diagnose", "Diagnosis", "dict_to_vector",
    "dropout_backward", "dropout_forward", "early_stopping", "eps_sweep", "error_rate", "ewa",
    "exponential_decay", "fit_normalizer", "flip_horizontal", "gd_update", "GradCheckReport",
    "gradient_check", "grid_search", "initialize_parameters", "initialize_uniform", "inverse_time_decay",
    "l1_penalty", "l1_penalty_grads", "l2_penalty", "l2_penalty_grads", "linear_backward", "linear_forward",
    "load_digits", "load_elnino", "load_mismatched_digits", "log_softmax", "make_circles",
    "make_moons", "make_spirals", "model_backward", "model_forward", "momentum_init",
    "momentum_update", "normalize", "numerical_gradient", "one_hot", "predict", "predict_proba",
    "random_flip", "random_mini_batches", "random_search", "random_shift", "relative_difference",
    "relu_backward", "relu_forward", "rmsprop_init", "rmsprop_update", "sample_beta",
    "sample_log_uniform", "sigmoid_backward", "sigmoid_forward", "softmax", "softmax_cross_entropy",
    "softmax_cross_entropy_backward", "split_sizes", "sqrt_decay", "staircase_decay",
    "tanh_backward", "tanh_forward", "train", "train_dev_test_split", "TrainResult",
    "vector_to_dict", "with_batchnorm",
]
