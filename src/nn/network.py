"""The network: layers n[0] → n[1] → … → n[L], forward and backward propagation over a whole batch.

Shapes follow the lecture: samples are columns. X = A[0] is (n[0], m), W[l] is (n[l], n[l-1]),
b[l] is (n[l], 1), Z[l] and A[l] are (n[l], m). Lists W, b, A, dZ are indexed from 1 to L as in the
lecture (index 0 is the input, or unused). Hidden layers use the activation g; the output layer is
a sigmoid unit for two classes (n[L] = 1) or a softmax over n[L] ≥ 2 classes.

Buffers for Z/A and dZ are allocated once per batch size and reused every step, so a training epoch
allocates nothing of the batch's size.
"""

import numpy as np

from .activations import ACTIVATIONS
from .initializers import INITIALIZERS
from .losses import OUTPUTS

DTYPES = {"float64": np.float64, "float32": np.float32}


def check_dtype(dtype):
    """'float64' | 'float32' | numpy dtype -> numpy dtype; ValueError otherwise."""
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    return np.dtype(DTYPES[name])


class Network:
    """A fully connected network with hidden activation g and a sigmoid or softmax output."""

    def __init__(self, layer_sizes, activation="tanh", dtype="float64"):
        sizes = tuple(layer_sizes)
        if len(sizes) < 2:
            raise ValueError(f"layer_sizes needs an input and an output size, got {sizes!r}")
        for n in sizes:
            if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
                raise ValueError(f"layer sizes must be integers >= 1, got {sizes!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.sizes = tuple(int(n) for n in sizes)
        self.L = len(sizes) - 1
        self.activation = activation
        self.dtype = check_dtype(dtype)
        self.output = "sigmoid" if self.sizes[-1] == 1 else "softmax"
        self._g, self._g_derivative = ACTIVATIONS[activation]
        self._output_activation, self._loss = OUTPUTS[self.output]
        self.W = [None] * (self.L + 1)
        self.b = [None] * (self.L + 1)
        self.dW = [None] + [np.empty((n, p), self.dtype) for p, n in zip(sizes, sizes[1:])]
        self.db = [None] + [np.empty((n, 1), self.dtype) for n in sizes[1:]]
        self._buffers = {}
        self._ones = {}

    # ----------------------------------------------------------------- parameters
    def initialize(self, init="xavier", rng=None):
        """Draw W[l] with the named scheme and set b[l] = 0; rng is a numpy Generator or a seed."""
        if init not in INITIALIZERS:
            raise ValueError(f"init must be one of {sorted(INITIALIZERS)}, got {init!r}")
        rng = np.random.default_rng(rng)
        for l in range(1, self.L + 1):
            shape = (self.sizes[l], self.sizes[l - 1])
            self.W[l] = INITIALIZERS[init](rng, shape).astype(self.dtype)
            self.b[l] = np.zeros((self.sizes[l], 1), self.dtype)
        return self

    def set_parameters(self, W, b):
        """Set W[1..L] (n[l], n[l-1]) and b[1..L] (n[l], 1) from sequences of arrays (copied)."""
        W, b = list(W), list(b)
        if len(W) != self.L or len(b) != self.L:
            raise ValueError(f"expected {self.L} weight matrices and bias vectors")
        for l in range(1, self.L + 1):
            w = np.array(W[l - 1], dtype=self.dtype, order="C")
            v = np.array(b[l - 1], dtype=self.dtype).reshape(-1, 1)
            if w.shape != (self.sizes[l], self.sizes[l - 1]) or v.shape != (self.sizes[l], 1):
                raise ValueError(
                    f"layer {l}: W must be {(self.sizes[l], self.sizes[l - 1])} and b "
                    f"{(self.sizes[l], 1)}, got {w.shape} and {v.shape}"
                )
            self.W[l], self.b[l] = w, v
        return self

    def parameters(self):
        """[W1, b1, W2, b2, …] (the arrays themselves, for in-place updates)."""
        return [p for l in range(1, self.L + 1) for p in (self.W[l], self.b[l])]

    def gradients(self):
        """[dW1, db1, dW2, db2, …] from the last backward pass, aligned with parameters()."""
        return [g for l in range(1, self.L + 1) for g in (self.dW[l], self.db[l])]

    def n_weights(self):
        """Number of entries in all W[l] (the multiply-adds per sample of one forward pass)."""
        return sum(self.sizes[l] * self.sizes[l - 1] for l in range(1, self.L + 1))

    # ----------------------------------------------------------------- buffers
    def _buffers_for(self, m):
        buffers = self._buffers.get(m)
        if buffers is None:
            if len(self._buffers) > 4:  # a predict on many batch sizes must not hoard memory
                self._buffers.clear()
            A = [None] + [np.empty((n, m), self.dtype) for n in self.sizes[1:]]
            dZ = [None] + [np.empty((n, m), self.dtype) for n in self.sizes[1:]]
            buffers = self._buffers[m] = (A, dZ)
        return buffers

    def _ones_for(self, m):
        ones = self._ones.get(m)
        if ones is None:
            ones = self._ones[m] = np.ones((m, 1), self.dtype)
        return ones

    # ----------------------------------------------------------------- propagation
    def forward(self, X):
        """Forward propagation, caching A[l] for backward. X (n[0], m) -> A[L] (n[L], m)"""
        m = X.shape[1]
        A, _ = self._buffers_for(m)
        A_prev = X
        for l in range(1, self.L + 1):
            Z = A[l]
            np.matmul(self.W[l], A_prev, out=Z)  # Z[l] = W[l] A[l-1] …
            Z += self.b[l]  # … + b[l]
            if l < self.L:
                self._g(Z)  # A[l] = g(Z[l]), in place
            else:
                self._output_activation(Z)  # A[L] = σ(Z[L]) or softmax(Z[L])
            A_prev = Z
        self._X = X
        return A[self.L]

    def backward(self, Y, l2=0.0):
        """Backward propagation of the mean loss over the last forward batch; Y (n[L], m) -> None.

        Fills dW[l], db[l]. Overwrites the cached activations, so call forward again first.
        """
        m = Y.shape[1]
        A, dZ = self._buffers_for(m)
        A[0] = self._X
        np.subtract(A[self.L], Y, out=dZ[self.L])  # dZ[L] = A[L] − Y
        for l in range(self.L, 0, -1):
            np.matmul(dZ[l], A[l - 1].T, out=self.dW[l])  # dW[l] = dZ[l] A[l-1]ᵀ / m …
            self.dW[l] *= 1.0 / m
            if l2:
                self.dW[l] += (l2 / m) * self.W[l]  # … + (λ/m) W[l]
            np.matmul(dZ[l], self._ones_for(m), out=self.db[l])  # db[l] = Σ_i dZ[l] / m
            self.db[l] *= 1.0 / m
            if l > 1:
                np.matmul(self.W[l].T, dZ[l], out=dZ[l - 1])  # dZ[l-1] = W[l]ᵀ dZ[l] …
                self._g_derivative(A[l - 1], dZ[l - 1])  # … * g′(Z[l-1])
        A[0] = None
        self._X = None

    def loss(self, A_L, Y):
        """Mean cross-entropy of the output A[L] against the targets Y. (n[L], m), (n[L], m) -> float"""
        return self._loss(A_L, Y)

    def loss_penalty(self, m, l2):
        """The L2 term (λ / 2m) Σ_l ‖W[l]‖² added to the loss of a batch of m samples."""
        return 0.5 * l2 / m * sum(float(np.vdot(W, W)) for W in self.W[1:])

    def predict_proba(self, X, batch_size=4096):
        """Output probabilities without touching training caches. X (n[0], m) -> (n[L], m)"""
        m = X.shape[1]
        out = np.empty((self.sizes[-1], m), self.dtype)
        for start in range(0, m, batch_size):
            stop = min(start + batch_size, m)
            A = X[:, start:stop]
            for l in range(1, self.L + 1):
                Z = self.W[l] @ A + self.b[l]
                A = self._g(Z) if l < self.L else self._output_activation(Z)
            out[:, start:stop] = A
        return out

    def __repr__(self):
        arrows = " → ".join(str(n) for n in self.sizes)
        return f"Network({arrows}, activation={self.activation!r}, output={self.output!r})"


def layer_sizes(n_features, hidden_layer_sizes, n_classes):
    """(n[0], n[1], …, n[L]) for a classifier: one sigmoid output for 2 classes, else n_classes."""
    n_out = 1 if n_classes <= 2 else n_classes
    return (n_features, *hidden_layer_sizes, n_out)

