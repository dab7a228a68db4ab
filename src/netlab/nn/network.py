"""The network: layers n[0] → n[1] → … → n[L], forward and backward propagation over a whole batch,
for R replicas at once.

Shapes follow the lecture (samples are columns), with a leading replica axis: a single network is
the stack of one. X = A[0] is (R, n[0], m), W[l] is (R, n[l], n[l-1]), b[l] is (R, n[l], 1), Z[l]
and A[l] are (R, n[l], m). Lists W, b, A, dZ are indexed from 1 to L as in the lecture (index 0 is
the input, or unused). Hidden layers use the activation g; the output layer is a sigmoid unit for
two classes (n[L] = 1) or a softmax over n[L] ≥ 2 classes. Replica r is an independent network:
every operation below acts on each replica's slice alone, so replica r's numbers are bit for bit
those of the same network trained alone (NumPy's stacked matmul calls BLAS once per slice, with the
same arguments as for a stack of one; reductions run along each replica's contiguous last axis).

Two implementation choices make it fast; neither changes the math:
- Each layer's W[l] and b[l] live side by side in one array [W[l] | b[l]] of shape
  (R, n[l], n[l-1] + 1), and each A[l-1] sits on top of a row of ones. Then
  Z[l] = W[l] A[l-1] + b[l] is one matrix product [W | b] [A; 1], and dW[l] and db[l] come out of
  one product too.
  ``W[l]``, ``b[l]``, ``dW[l]`` and ``db[l]`` are views into those arrays: read and update them
  in place (``set_parameters`` copies into them).
- Buffers for A[l] and dZ[l] are allocated once per batch size and reused, so a training step
  allocates nothing of the batch's size; activations and derivatives work in place. Only an
  activation whose derivative needs z (declared in its table entry) keeps a copy of Z[l].

Why one file of ~380 lines: forward and backward propagation, and the stacked replica layout they
share, read best side by side with the lecture's equations.
"""

import numpy as np

from .activations import ACTIVATIONS
from .constraints import DEFAULTS, check
from .initializers import INITIALIZERS
from .losses import OUTPUTS, mean_cross_entropy

EVAL_COLUMNS = 4096  # prediction runs over at most this many samples at a time (fixed: bits of a
# column's product may depend on how many columns BLAS is given, never on the number of replicas)
CHUNK_BYTES = 4 * 2**20  # replicas are processed in groups whose batch buffers fit in about this


def generators(rngs, replicas):
    """R numpy Generators from rngs: a sequence of R Generators or seeds, or (R = 1) just one."""
    if isinstance(rngs, list | tuple):
        if len(rngs) != replicas:
            raise ValueError(
                f"rngs: expected {replicas} generators (one per replica), got {len(rngs)}")
        return [np.random.default_rng(r) for r in rngs]
    if replicas == 1:
        return [np.random.default_rng(rngs)]
    if rngs is None:
        return [np.random.default_rng() for _ in range(replicas)]
    raise ValueError(
        f"rngs: expected a list of {replicas} generators (one per replica), got {rngs!r}")


def layer_sizes(n_features, hidden_layer_sizes, n_classes):
    """(n[0], n[1], …, n[L]) for a classifier: one sigmoid output for 2 classes, else n_classes."""
    n_out = 1 if n_classes <= 2 else n_classes
    return (n_features, *hidden_layer_sizes, n_out)


def batch_bytes(sizes, m, dtype, needs_z=False, training=True):
    """Bytes of one replica's buffers for a batch of m samples: A[l] with their rows of ones, and
    for training dZ[l] and the kept Z[l] of an activation that needs z."""
    rows = sum(n + 1 for n in sizes[1:-1]) + sizes[-1]
    if training:
        rows += sum(sizes[1:]) + (sum(sizes[1:-1]) if needs_z else 0)
    return rows * m * np.dtype(dtype).itemsize


def replicas_per_chunk(sizes, m, replicas, dtype, needs_z=False, training=True):
    """How many replicas are processed together: as many as fit CHUNK_BYTES of batch buffers (at
    least one). Chosen by shape only; a replica's numbers do not depend on it."""
    per_replica = max(1, batch_bytes(sizes, m, dtype, needs_z, training))
    return int(max(1, min(replicas, CHUNK_BYTES // per_replica)))


def chunks(replicas, size):
    """[(start, stop), …] covering range(replicas) in groups of `size`."""
    return [(s, min(s + size, replicas)) for s in range(0, replicas, size)]


def augmented(X, replicas, n_features, dtype):
    """[X; 1]: the input with a row of ones under it, per replica. X (R, n0, m) or shared (n0, m)
    -> (R, n0 + 1, m) in dtype."""
    X = np.asarray(X)
    wrong_stack = X.ndim == 3 and X.shape[0] != replicas
    if X.ndim not in (2, 3) or X.shape[-2] != n_features or wrong_stack:
        raise ValueError(
            f"X must be ({replicas}, {n_features}, m) or shared ({n_features}, m), got {X.shape}"
        )
    X1 = np.empty((replicas, n_features + 1, X.shape[-1]), dtype)
    X1[:, :-1] = X  # A[0] = X
    X1[:, -1] = 1
    return X1


class _Cache:
    """The buffers of one batch size: A[l] (on rows of ones), views Z[l] into them, dZ[l], z."""

    def __init__(self, net, m, training):
        R, dtype, sizes, L = net.replicas, net.dtype, net.sizes, net.L
        self.m = m
        self.input = self.input_T = None  # [A[0]; 1] of the last forward pass (and its transpose)
        self.own_input = None  # a buffer for inputs given without their row of ones
        self.A = [None] * (L + 1)
        for l in range(1, L):
            self.A[l] = np.empty((R, sizes[l] + 1, m), dtype)
            self.A[l][:, -1] = 1  # the row of ones under A[l] that multiplies b[l+1]
        self.A[L] = np.empty((R, sizes[L], m), dtype)
        self.Z = [None] + [self.A[l][:, : sizes[l]] for l in range(1, L + 1)]
        self.AT = [None] + [A.transpose(0, 2, 1) for A in self.A[1:]]  # [A[l]; 1]ᵀ for dW[l+1]
        keep = training and net._activation.needs_z
        self.dZ, self.Zkeep, self.whole = [None] * (L + 1), [None] * (L + 1), [None] * (L + 1)
        if not training:
            return
        self.dZ[L] = np.empty((R, sizes[L], m), dtype)
        for l in range(1, L):
            # dZ[l] (and the kept Z[l]) laid out as A[l] is, with a row under them: for R > 1 the
            # elementwise g′ then runs over whole contiguous arrays, several times faster than
            # over the (R, n[l], m) views that skip a row per replica; and gives the same bits
            n = sizes[l]
            dZ = np.zeros((R, n + 1, m), dtype)
            Zkeep = np.zeros((R, n + 1, m), dtype) if keep else None
            self.dZ[l], self.Zkeep[l] = dZ[:, :n], None if Zkeep is None else Zkeep[:, :n]
            if R > 1:
                self.whole[l] = (self.A[l], dZ, Zkeep)


class Network:
    """R fully connected networks with hidden activation g and a sigmoid or softmax output."""

    def __init__(self, layer_sizes, activation=DEFAULTS["activation"], dtype=DEFAULTS["dtype"],
                 replicas=1):
        self.sizes = check("layer_sizes", layer_sizes)
        self.activation = check("activation", activation)
        self.dtype = check("dtype", dtype)
        self.replicas = check("replicas", replicas)
        self.L = L = len(self.sizes) - 1
        self.output = "sigmoid" if self.sizes[-1] == 1 else "softmax"
        R = self.replicas
        shapes = [None] + [(R, self.sizes[l], self.sizes[l - 1] + 1) for l in range(1, L + 1)]
        self._Wb = [None] + [np.zeros(shapes[l], self.dtype) for l in range(1, L + 1)]  # [W | b]
        self._dWb = [None] + [np.zeros(shapes[l], self.dtype) for l in range(1, L + 1)]
        self._setup()

    def _setup(self):
        """Views, tables and (empty) buffer caches; after construction, a view or unpickling."""
        self._activation = ACTIVATIONS[self.activation]
        self._g, self._g_derivative = self._activation.forward, self._activation.derivative
        self._output_activation = OUTPUTS[self.output]
        self.W = [None] + [Wb[:, :, :-1] for Wb in self._Wb[1:]]
        self.b = [None] + [Wb[:, :, -1:] for Wb in self._Wb[1:]]
        self.dW = [None] + [dWb[:, :, :-1] for dWb in self._dWb[1:]]
        self.db = [None] + [dWb[:, :, -1:] for dWb in self._dWb[1:]]
        self._WT = [None] + [W.transpose(0, 2, 1) for W in self.W[1:]]  # W[l]ᵀ, (R, n[l-1], n[l])
        self._caches = {}
        self._views = {}
        self.zero_gradient_rows = [None] * (self.L + 1)  # filled by backward(…, zero_rows=True)

    def __getstate__(self):
        state = self.__dict__.copy()
        for key in ("W", "b", "dW", "db", "_WT", "_caches", "_views", "_activation", "_g",
                    "_g_derivative", "_output_activation", "zero_gradient_rows"):
            state.pop(key)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._setup()

    def view(self, start, stop):
        """Replicas start…stop−1 as a Network sharing this one's weights and gradients (no copy)."""
        key = (start, stop)
        if (start, stop) == (0, self.replicas):
            return self
        if key not in self._views:
            v = object.__new__(Network)
            v.__dict__.update(self.__getstate__())
            v.replicas = stop - start
            v._Wb = [None] + [Wb[start:stop] for Wb in self._Wb[1:]]
            v._dWb = [None] + [dWb[start:stop] for dWb in self._dWb[1:]]
            v._setup()
            v._caches = self._caches  # groups of replicas run one after another: one set of buffers
            self._views[key] = v
        return self._views[key]

    def replica(self, r):
        """A stack of one holding a copy of replica r's weights (to save, predict or draw)."""
        single = Network(self.sizes, self.activation, self.dtype, replicas=1)
        for l in range(1, self.L + 1):
            single._Wb[l][0] = self._Wb[l][r]
        return single

    # ----------------------------------------------------------------- parameters
    def initialize(self, init=DEFAULTS["init"], rngs=None):
        """Draw W[l] with the named scheme (or a list of one scheme per replica) and set b[l] = 0.
        rngs: one numpy Generator (or seed) per replica; replica r draws exactly what a single
        network would draw from rngs[r]."""
        inits = [check("init", i) for i in init] if isinstance(init, list | tuple) else \
            [check("init", init)] * self.replicas
        if len(inits) != self.replicas:
            raise ValueError(f"init: one scheme per replica ({self.replicas}), got {len(inits)}")
        for r, (rng, scheme) in enumerate(zip(generators(rngs, self.replicas), inits, strict=True)):
            for l in range(1, self.L + 1):
                self.W[l][r] = INITIALIZERS[scheme](rng, self.W[l].shape[1:])
        for l in range(1, self.L + 1):
            self.b[l][...] = 0
        return self

    def set_parameters(self, W, b):
        """Copy in W[1..L] and b[1..L]: per replica, W (R, n[l], n[l-1]) and b (R, n[l], 1) or
        (R, n[l]); or shared by every replica, W (n[l], n[l-1]) and b (n[l], 1) or (n[l],)."""
        W, b = list(W), list(b)
        if len(W) != self.L or len(b) != self.L:
            raise ValueError(f"expected {self.L} weight matrices and bias vectors")
        R = self.replicas
        for l in range(1, self.L + 1):
            n, n_prev = self.sizes[l], self.sizes[l - 1]
            w, v = np.asarray(W[l - 1]), np.asarray(b[l - 1])
            if v.shape in ((n,), (n, 1)):
                v = v.reshape(n, 1)
            elif v.shape == (R, n):
                v = v[:, :, None]
            if w.shape not in ((n, n_prev), (R, n, n_prev)) or v.shape not in ((n, 1), (R, n, 1)):
                raise ValueError(
                    f"layer {l}: W must be ({R}, {n}, {n_prev}) or ({n}, {n_prev}) and b "
                    f"({R}, {n}, 1) or ({n},), got {w.shape} and {np.shape(b[l - 1])}"
                )
            self.W[l][...], self.b[l][...] = w, v
        return self

    def parameters(self):
        """[[W1 | b1], [W2 | b2], …], each (R, n[l], n[l-1] + 1): the arrays themselves."""
        return self._Wb[1:]

    def gradients(self):
        """[[dW1 | db1], …] from the last backward pass, aligned with parameters()."""
        return self._dWb[1:]

    def n_weights(self):
        """Entries in all W[l] of one replica (the multiply-adds per sample of a forward pass)."""
        return sum(W[0].size for W in self.W[1:])

    # ----------------------------------------------------------------- buffers
    def _cache(self, m, training=True):
        """The buffers for a batch of m samples (training: with dZ[l]; else forward only), shared
        by this network's views of as many replicas (they run one after another)."""
        key = (self.replicas, m, training)
        cache = self._caches.get(key)
        if cache is None:
            if len(self._caches) > 7:  # batches of many sizes must not hoard memory
                self._caches.clear()
            cache = self._caches[key] = _Cache(self, m, training)
        return cache

    # ----------------------------------------------------------------- propagation
    def _forward(self, cache, X1, X1T=None):
        """Forward propagation of [A[0]; 1] = X1 (R, n[0] + 1, m) into cache; -> A[L] (R, n[L], m).
        X1T: X1.transpose(0, 2, 1), if the caller keeps it (backward propagation needs it)."""
        cache.input, cache.input_T = X1, X1T
        A, Z, keep, L = cache.A, cache.Z, cache.Zkeep, self.L
        for l in range(1, L + 1):
            A_prev = X1 if l == 1 else A[l - 1]
            np.matmul(self._Wb[l], A_prev, out=Z[l])  # Z[l] = W[l] A[l-1] + b[l]
            if l < L:
                if keep[l] is not None:
                    np.copyto(keep[l], Z[l])  # the derivative of this activation needs Z[l]
                self._g(Z[l])  # A[l] = g(Z[l]), in place
            else:
                self._output_activation(Z[l])  # A[L] = σ(Z[L]) or softmax(Z[L])
        return A[L]

    def forward(self, X):
        """Forward propagation, caching A[l] for backward. X (R, n[0], m), or (n[0], m) shared by
        every replica -> A[L] (R, n[L], m), a buffer valid until the next forward pass."""
        X = np.asarray(X)
        cache = self._cache(X.shape[-1])
        if cache.own_input is None:
            cache.own_input = augmented(X, self.replicas, self.sizes[0], self.dtype)
        else:
            cache.own_input[:, :-1] = X  # A[0] = X
        return self._forward(cache, cache.own_input)

    def _backward(self, cache, Y, l2=0.0, zero_rows=False):
        """backward() on the batch cache holds (its last forward pass); Y (R, n[L], m)."""
        m, A, Z, dZ, L = cache.m, cache.A, cache.Z, cache.dZ, self.L
        np.subtract(A[L], Y, out=dZ[L])  # dZ[L] = A[L] − Y …
        dZ[L] *= 1.0 / m  # … / m: the mean's 1/m, carried by dZ into every dW[l] and db[l]
        for l in range(L, 0, -1):
            A_prev_T = cache.AT[l - 1] if l > 1 else cache.input_T
            if A_prev_T is None:
                A_prev_T = cache.input.transpose(0, 2, 1)
            # [dW[l] | db[l]] = dZ[l] [A[l-1]; 1]ᵀ: dW[l] = dZ[l] A[l-1]ᵀ / m, db[l] = Σ_i dZ[l] / m
            np.matmul(dZ[l], A_prev_T, out=self._dWb[l])
            if zero_rows and l < L and self._activation.statistic == "dead":  # a dead unit's row
                self.zero_gradient_rows[l] = ~self._dWb[l].any(axis=2)
            if isinstance(l2, np.ndarray) or l2:  # (λ: a number, or (R, 1, 1) per replica)
                self.dW[l] += (l2 / m) * self.W[l]  # dW[l] += (λ/m) W[l]
            if l > 1:
                if dZ[l].shape[1] == 1:  # an outer product: broadcasting beats a rank-1 matmul
                    np.multiply(self._WT[l], dZ[l], out=dZ[l - 1])  # dZ[l-1] = W[l]ᵀ dZ[l] …
                else:
                    np.matmul(self._WT[l], dZ[l], out=dZ[l - 1])  # dZ[l-1] = W[l]ᵀ dZ[l] …
                whole = cache.whole[l - 1]
                if whole is None:
                    self._g_derivative(Z[l - 1], dZ[l - 1], cache.Zkeep[l - 1])  # … * g′(Z[l-1])
                else:  # the same, over the whole buffers (see _Cache) …
                    self._g_derivative(*whole)
                    whole[0][:, -1] = 1  # … so the row of ones is restored

    def backward(self, Y, l2=0.0, zero_rows=False):
        """Backward propagation of the mean loss over the last forward batch. Y (R, n[L], m), or
        (n[L], m) shared -> None. Fills dW[l], db[l]; overwrites the cached activations, so call
        forward again first. zero_rows=True also records, per hidden layer, which units' rows of
        [dW[l] | db[l]] are all zero before the L2 term (zero_gradient_rows[l], (R, n[l]) bool)."""
        Y = np.asarray(Y)
        cache = self._cache(Y.shape[-1])
        if cache.input is None:
            raise RuntimeError("backward() needs a forward() of the same batch size first")
        self._backward(cache, Y, l2, zero_rows)

    def hidden_layers(self, m):
        """[(l, A[l] (R, n[l], m), Z[l] or None)] for l = 1 … L−1, as the last forward pass of a
        batch of m left them (Z[l] only for an activation that needs z); valid until backward."""
        return self._hidden_layers(self._cache(m))

    def _hidden_layers(self, cache):
        return [(l, cache.Z[l], cache.Zkeep[l]) for l in range(1, self.L)]

    def loss(self, A_L, labels):
        """Mean cross-entropy per replica of the output A[L] (R, n[L], m) against integer labels
        (R, m) -> (R,)"""
        return mean_cross_entropy(A_L, np.asarray(labels))

    def loss_penalty(self, m, l2):
        """The L2 term (λ / 2m) Σ_l ‖W[l]‖² per replica for a batch of m samples. -> (R,)"""
        return 0.5 * l2 / m * self.squared_weights()

    def squared_weights(self):
        """Σ_l ‖W[l]‖² per replica (W parts only). -> (R,)"""
        return sum(np.einsum("rij,rij->r", W, W) for W in self.W[1:])

    # ----------------------------------------------------------------- prediction
    def _prediction_plan(self, X1, out):
        """How to fill out (R, n[L], m) with A[L] for [X; 1] = X1 (R, n[0] + 1, m): EVAL_COLUMNS
        samples at a time (a fixed width, whatever R is), as many replicas at a time as fit, with
        buffers apart from training's. -> [(network view, buffers, X1 part, out part)]"""
        m = X1.shape[-1]
        columns = min(m, EVAL_COLUMNS)
        size = replicas_per_chunk(self.sizes, columns, self.replicas, self.dtype, training=False)
        plan = []
        for r0, r1 in chunks(self.replicas, size):
            net = self.view(r0, r1)
            for start in range(0, m, columns):
                stop = min(start + columns, m)
                cache = net._cache(stop - start, training=False)
                plan.append((net, cache, X1[r0:r1, :, start:stop], out[r0:r1, :, start:stop]))
        return plan

    @staticmethod
    def _run_plan(plan, out):
        """Carry out a _prediction_plan; -> out, or (a plan of one step) the buffer A[L] is in."""
        if len(plan) == 1:
            net, cache, X1, _ = plan[0]
            return net._forward(cache, X1)
        for net, cache, X1, part in plan:
            np.copyto(part, net._forward(cache, X1))
        return out

    def _predict(self, X1, out):
        """A[L] for [X; 1] = X1 (R, n[0] + 1, m) into out (R, n[L], m); see _prediction_plan."""
        result = self._run_plan(self._prediction_plan(X1, out), out)
        if result is not out:
            np.copyto(out, result)
        return out

    def predict_proba(self, X):
        """Output probabilities, without touching training buffers. X (R, n[0], m), or (n[0], m)
        shared by every replica -> A[L] (R, n[L], m)"""
        X1 = augmented(X, self.replicas, self.sizes[0], self.dtype)
        out = np.empty((self.replicas, self.sizes[-1], X1.shape[-1]), self.dtype)
        return self._predict(X1, out)

    def __repr__(self):
        arrows = " → ".join(str(n) for n in self.sizes)
        stack = f", replicas={self.replicas}" if self.replicas > 1 else ""
        return f"Network({arrows}, activation={self.activation!r}, output={self.output!r}{stack})"
