"""The network: layers n[0] → n[1] → … → n[L], forward and backward propagation over a whole batch.

Shapes follow the lecture: samples are columns. X = A[0] is (n[0], m), W[l] is (n[l], n[l-1]),
b[l] is (n[l], 1), Z[l] and A[l] are (n[l], m). Lists W, b, A, dZ are indexed from 1 to L as in the
lecture (index 0 is the input, or unused). Hidden layers use the activation g; the output layer is
a sigmoid unit for two classes (n[L] = 1) or a softmax over n[L] ≥ 2 classes.

Two implementation choices make it fast; neither changes the math:
- Each layer's W[l] and b[l] live side by side in one matrix [W[l] | b[l]] of shape
  (n[l], n[l-1] + 1), and each A[l-1] sits on top of a row of ones. Then Z[l] = W[l] A[l-1] + b[l]
  is one matrix product [W | b] [A; 1], and dW[l] and db[l] come out of one product too.
  ``W[l]``, ``b[l]``, ``dW[l]`` and ``db[l]`` are views into those matrices: read and update them
  in place (``set_parameters`` replaces them).
- Buffers for A[l] and dZ[l] are allocated once per batch size and reused, so a training step
  allocates nothing of the batch's size; activations and derivatives work in place.
"""

import numpy as np

from .activations import ACTIVATIONS
from .initializers import INITIALIZERS
from .losses import OUTPUTS

DTYPES = {"float64": np.float64, "float32": np.float32}


def check_dtype(dtype):
    """'float64' | 'float32' | numpy dtype -> numpy dtype; ValueError otherwise."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
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
        self.L = L = len(sizes) - 1
        self.activation = activation
        self.dtype = check_dtype(dtype)
        self.output = "sigmoid" if self.sizes[-1] == 1 else "softmax"
        self._g, self._g_derivative = ACTIVATIONS[activation]
        self._output_activation, self._loss = OUTPUTS[self.output]
        shapes = [None] + [(self.sizes[l], self.sizes[l - 1] + 1) for l in range(1, L + 1)]
        self._Wb = [None] + [np.zeros(shapes[l], self.dtype) for l in range(1, L + 1)]  # [W | b]
        self._dWb = [None] + [np.zeros(shapes[l], self.dtype) for l in range(1, L + 1)]
        self._views()
        self._buffers = {}

    def _views(self):
        self.W = [None] + [Wb[:, :-1] for Wb in self._Wb[1:]]
        self.b = [None] + [Wb[:, -1:] for Wb in self._Wb[1:]]
        self.dW = [None] + [dWb[:, :-1] for dWb in self._dWb[1:]]
        self.db = [None] + [dWb[:, -1:] for dWb in self._dWb[1:]]

    # ----------------------------------------------------------------- parameters
    def initialize(self, init="xavier", rng=None):
        """Draw W[l] with the named scheme and set b[l] = 0; rng is a numpy Generator or a seed."""
        if init not in INITIALIZERS:
            raise ValueError(f"init must be one of {sorted(INITIALIZERS)}, got {init!r}")
        rng = np.random.default_rng(rng)
        for l in range(1, self.L + 1):
            self.W[l][...] = INITIALIZERS[init](rng, self.W[l].shape)
            self.b[l][...] = 0
        return self

    def set_parameters(self, W, b):
        """Set W[1..L] (n[l], n[l-1]) and b[1..L] (n[l], 1) from sequences of arrays (copied)."""
        W, b = list(W), list(b)
        if len(W) != self.L or len(b) != self.L:
            raise ValueError(f"expected {self.L} weight matrices and bias vectors")
        for l in range(1, self.L + 1):
            w, v = np.asarray(W[l - 1]), np.asarray(b[l - 1]).reshape(-1, 1)
            if w.shape != self.W[l].shape or v.shape != self.b[l].shape:
                raise ValueError(
                    f"layer {l}: W must be {self.W[l].shape} and b {self.b[l].shape}, "
                    f"got {w.shape} and {v.shape}"
                )
            self.W[l][...], self.b[l][...] = w, v
        return self

    def parameters(self):
        """[[W1 | b1], [W2 | b2], …]: the arrays themselves, for in-place updates."""
        return self._Wb[1:]

    def gradients(self):
        """[[dW1 | db1], …] from the last backward pass, aligned with parameters()."""
        return self._dWb[1:]

    def n_weights(self):
        """Number of entries in all W[l] (the multiply-adds per sample of one forward pass)."""
        return sum(W.size for W in self.W[1:])

    # ----------------------------------------------------------------- buffers
    def _buffers_for(self, m):
        """[A[0]; 1], …, [A[L-1]; 1], A[L] and dZ[1..L] for a batch of m samples."""
        buffers = self._buffers.get(m)
        if buffers is None:
            if len(self._buffers) > 2:  # batches of many sizes must not hoard memory
                self._buffers.clear()
            A1 = [np.empty((n + 1, m), self.dtype) for n in self.sizes[:-1]]
            for a in A1:
                a[-1] = 1  # the row of ones under A[l] that multiplies b[l+1]
            A1.append(np.empty((self.sizes[-1], m), self.dtype))
            dZ = [None] + [np.empty((n, m), self.dtype) for n in self.sizes[1:]]
            buffers = self._buffers[m] = (A1, dZ)
        return buffers

    # ----------------------------------------------------------------- propagation
    def forward(self, X):
        """Forward propagation, caching A[l] for backward. X (n[0], m) -> A[L] (n[L], m)"""
        A1, _ = self._buffers_for(X.shape[1])
        A1[0][:-1] = X  # A[0] = X
        for l in range(1, self.L + 1):
            Z = A1[l][: self.sizes[l]]
            np.matmul(self._Wb[l], A1[l - 1], out=Z)  # Z[l] = W[l] A[l-1] + b[l]
            if l < self.L:
                self._g(Z)  # A[l] = g(Z[l]), in place
            else:
                self._output_activation(Z)  # A[L] = σ(Z[L]) or softmax(Z[L])
        return A1[self.L]

    def backward(self, Y, l2=0.0):
        """Backward propagation of the mean loss over the last forward batch; Y (n[L], m) -> None.

        Fills dW[l], db[l]. Overwrites the cached activations, so call forward again first.
        """
        m = Y.shape[1]
        A1, dZ = self._buffers_for(m)
        np.subtract(A1[self.L], Y, out=dZ[self.L])  # dZ[L] = A[L] − Y …
        dZ[self.L] *= 1.0 / m  # … / m: the mean's 1/m, carried by dZ into every dW[l] and db[l]
        for l in range(self.L, 0, -1):
            # [dW[l] | db[l]] = dZ[l] [A[l-1]; 1]ᵀ: dW[l] = dZ[l] A[l-1]ᵀ / m, db[l] = Σ_i dZ[l] / m
            np.matmul(dZ[l], A1[l - 1].T, out=self._dWb[l])
            if l2:
                self.dW[l] += (l2 / m) * self.W[l]  # dW[l] += (λ/m) W[l]
            if l > 1:
                if dZ[l].shape[0] == 1:  # an outer product: broadcasting beats a rank-1 matmul
                    np.multiply(self.W[l].T, dZ[l], out=dZ[l - 1])  # dZ[l-1] = W[l]ᵀ dZ[l] …
                else:
                    np.matmul(self.W[l].T, dZ[l], out=dZ[l - 1])  # dZ[l-1] = W[l]ᵀ dZ[l] …
                self._g_derivative(A1[l - 1][:-1], dZ[l - 1])  # … * g′(Z[l-1])

    def loss(self, A_L, Y):
        """Mean cross-entropy of the output A[L] against targets Y. (n[L], m), (n[L], m) -> float"""
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
            A = X[:, start:stop].astype(self.dtype, copy=False)
            for l in range(1, self.L + 1):
                Z = self.W[l] @ A + self.b[l]  # Z[l] = W[l] A[l-1] + b[l]
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
