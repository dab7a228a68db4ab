"""How many bytes a training needs, estimated from its shapes before anything is allocated.

memory_bytes() adds up what train() holds at its peak, so a harness can refuse a job that would not
fit before it starts: the data as given (X, labels) and train()'s copies of it (the input on its row
of ones, targets, the shuffled copies for mini-batches), the weights, gradients, optimizer state and
early stopping's best weights of every replica, the batch buffers of a group of replicas (A[l],
dZ[l], the kept Z[l] of an activation that needs z, one elementwise step's temporaries, and a
probe's copies), the validation set's copies and output, the final check's pass over the training
set, and the per-epoch curves (preallocated arrays, then each replica's History of Python floats).
It is an upper bound of what NumPy allocates (tests/test_memory.py measures it with tracemalloc),
not of the interpreter's own memory.
"""

import numpy as np

from .activations import ACTIVATIONS
from .constraints import DEFAULTS, check
from .dynamics import MAX_SAMPLES
from .network import EVAL_COLUMNS, batch_bytes, replicas_per_chunk

OPTIMIZER_STATE = {"gd": 0, "sgd": 0, "momentum": 1, "adam": 2}  # arrays the size of the weights
ELEMENTWISE_TEMPORARIES = {"gelu": 2, "swish": 1}  # full-size temporaries of g or g′ (else: masks)
INDEX = np.dtype(np.intp).itemsize
CURVES = 5  # train and validation loss and accuracy, objective: one figure per epoch and replica
PYTHON_FLOAT = 32  # a float in a History's list: the object and its pointer
OVERHEAD = 256 * 2**10  # the small arrays and Python objects of the bookkeeping


def _group_sizes(replicas, size):
    return {size} | ({replicas % size} if replicas % size else set())


def _batches(m, batch):
    return {batch} | ({m % batch} if m % batch else set())


def memory_bytes(sizes, m_train, m_val=0, batch_size=None, replicas=1,
                 optimizer=DEFAULTS["optimizer"], dtype=DEFAULTS["dtype"],
                 activation=DEFAULTS["activation"], early_stopping=False,
                 epochs=DEFAULTS["epochs"]):
    """Bytes a training of `replicas` networks of layer sizes (n[0], …, n[L]) on m_train samples
    (and m_val validation samples, 0 for none) for `epochs` epochs needs at its peak; see the
    module's docstring."""
    sizes = check("layer_sizes", sizes)
    R = check("replicas", replicas)
    s = check("dtype", dtype).itemsize
    activation = check("activation", activation)
    act = ACTIVATIONS[activation]
    state = OPTIMIZER_STATE[check("optimizer", optimizer)]
    batch = m_train if batch_size is None else min(check("batch_size", batch_size), m_train)
    n0, nL, m = sizes[0], sizes[-1], m_train
    binary = nL == 1

    def targets(samples):  # labels (intp), Y, and 1 − y for a sigmoid output
        return R * samples * (INDEX + nL * s + (s if binary else 0))

    data = R * m * (n0 * s + INDEX)  # X and labels as given
    data += R * (n0 + 1) * m * s + targets(m)  # [X; 1] and the targets
    if batch < m:  # the unshuffled copy, the shuffled targets and one replica's order
        data += R * n0 * m * s + targets(m) + m * INDEX

    weights = R * sum(n * (n_prev + 1) for n_prev, n in zip(sizes[:-1], sizes[1:], strict=True))
    parameters = weights * s * (2 + state + (1 if early_stopping else 0))  # θ, dθ, state, best

    group = replicas_per_chunk(sizes, batch, R, dtype, act.needs_z)
    widest = max(sizes[1:])
    buffers = 0
    for g in _group_sizes(R, group):
        for b in _batches(m, batch):
            buffers += g * batch_bytes(sizes, b, dtype, act.needs_z)
    temporaries = group * batch * (widest * s * (ELEMENTWISE_TEMPORARIES.get(activation, 0)
                                                 + 1) + 4 * s)  # g or g′, and the loss's p, masks
    largest = max(n * (n_prev + 1) for n_prev, n in zip(sizes, sizes[1:], strict=False))
    temporaries += group * largest * s * 2  # (λ/m) W[l], Adam's (1 − β) dθ
    probe = min(batch, MAX_SAMPLES)  # dynamics: copies of a hidden layer's a (and z), g′, a mask
    temporaries += group * widest * probe * ((3 if act.needs_z else 2) * s + 1)

    def evaluation(samples):  # [X; 1] copy (final check only), output, figures, buffers
        columns = min(samples, EVAL_COLUMNS)
        per = replicas_per_chunk(sizes, columns, group, dtype, training=False)
        return (R * nL * samples * s + R * samples * 3 * s
                + sum(g * batch_bytes(sizes, columns, dtype, training=False)
                      for g in _group_sizes(group, per)))

    validation = 0
    if m_val:
        validation = R * m_val * (n0 * s + INDEX) + R * (n0 + 1) * m_val * s + targets(m_val)
        validation += evaluation(m_val)
    final_check = 0 if m_val else R * (n0 + 1) * m * s + targets(m) + evaluation(m)
    epochs = check("epochs", epochs)
    curves = CURVES * epochs * R * (8 + PYTHON_FLOAT)  # preallocated, then each History's lists
    return int(data + parameters + buffers + temporaries + validation + final_check + curves
               + OVERHEAD)
