"""The streaming steps as compiled calls, for live use: a transformer block's step, the listener's
gated cross-attention, the digit head's sampling loop.

A one-frame step of a `Block` is about 45 small torch operations (three layer norms, the causal
convolution, the attention's products, softmax and ring append, the MLP), each paying the
dispatcher's few microseconds on this size of work: at the streaming batch sizes (1 to 64 rows,
width 96-128) overhead, not arithmetic, was most of a step. Here each runs in one numba call on
arrays only: the module's weights as it builds them, and numpy views of its state's named tensors
(nn/streaming.py), written in place, so batching conversations and the torch steps keep working
on the same state. The kernels know no module; each module picks this path or torch's in its own
`step`. A K = 10 step with guidance takes half the time (docs/live.md).

The arithmetic is the same in float32, in another order (fused multiply-adds, row-wise sums,
vectorised erf and exp within 4.2e-7 and 2e-6 of libm's): results agree with the torch steps to
float rounding, not to the bit (tests: the same tokens, faces within 1e-4). Used only for
inference on CPU float32 tensors with a bounded band; `FACEREACT_FAST=0` turns it off (the torch
steps are the reference, and what training and gradients use).
"""
from __future__ import annotations

import contextlib
import math
import os

import numpy as np
import torch
from numba import njit

_ENABLED = os.environ.get("FACEREACT_FAST", "1") != "0"


def enabled(x: torch.Tensor) -> bool:
    """Whether the compiled step applies to this input: inference on CPU float32."""
    return _ENABLED and x.dtype == torch.float32 and x.is_cpu and not torch.is_grad_enabled()


def set_enabled(on: bool) -> bool:
    """Turn the compiled steps on or off (tests, A/B timing); returns the previous setting."""
    global _ENABLED
    previous, _ENABLED = _ENABLED, on
    return previous


_NO_ROWS = np.zeros(1, np.bool_)

# -- kernels ------------------------------------------------------------------------------------------

@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _linear(x, w, b, out):
    """out = x @ w.T + b; x (R, I), w (O, I) (a Linear's weight as stored), b (O,). Four rows by
    two outputs at a time, so each loaded weight feeds four products and each loaded input two
    (one row at a time is load-bound); 1.3-1.6x faster than two by two at 20-320 rows."""
    rows, width = x.shape
    outs = w.shape[0]
    r = 0
    while r + 4 <= rows:
        x0, x1, x2, x3 = x[r], x[r + 1], x[r + 2], x[r + 3]
        o = 0
        while o + 2 <= outs:
            w0, w1 = w[o], w[o + 1]
            a00 = a01 = a10 = a11 = a20 = a21 = a30 = a31 = np.float32(0.0)
            for i in range(width):
                u, v = w0[i], w1[i]
                a00 += x0[i] * u
                a01 += x0[i] * v
                a10 += x1[i] * u
                a11 += x1[i] * v
                a20 += x2[i] * u
                a21 += x2[i] * v
                a30 += x3[i] * u
                a31 += x3[i] * v
            out[r, o], out[r, o + 1] = a00 + b[o], a01 + b[o + 1]
            out[r + 1, o], out[r + 1, o + 1] = a10 + b[o], a11 + b[o + 1]
            out[r + 2, o], out[r + 2, o + 1] = a20 + b[o], a21 + b[o + 1]
            out[r + 3, o], out[r + 3, o + 1] = a30 + b[o], a31 + b[o + 1]
            o += 2
        for rr in range(r, r + 4):
            for oo in range(o, outs):
                out[rr, oo] = _dot(x[rr], w[oo]) + b[oo]
        r += 4
    for rr in range(r, rows):
        for o in range(outs):
            out[rr, o] = _dot(x[rr], w[o]) + b[o]


@njit(cache=True, nogil=True, fastmath=True, inline="always", error_model="numpy")
def _dot(a, b):
    acc = np.float32(0.0)
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return acc


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _layer_norm(x, gain, bias, eps, out):
    for r in range(x.shape[0]):
        n = x.shape[1]
        mean = 0.0
        for c in range(n):
            mean += x[r, c]
        mean /= n
        var = 0.0
        for c in range(n):
            d = x[r, c] - mean
            var += d * d
        inv = 1.0 / math.sqrt(var / n + eps)
        for c in range(n):
            out[r, c] = (x[r, c] - mean) * inv * gain[c] + bias[c]


@njit(cache=True, nogil=True, fastmath=True, inline="always", error_model="numpy")
def _erf(v):
    """erf for float32 on [-4, 4] (beyond, it is +-1 in float32) as an odd rational function:
    the approximation Eigen and XLA use for float32, within 4.2e-7 of math.erf (checked in the
    tests). Multiplies, adds and one division, so loops of it vectorise; libm's erf does not."""
    x = min(max(v, np.float32(-4.0)), np.float32(4.0))
    x2 = x * x
    p = np.float32(-2.72614225801306e-10)
    p = p * x2 + np.float32(2.77068142495902e-08)
    p = p * x2 + np.float32(-2.10102402082508e-06)
    p = p * x2 + np.float32(-5.69250639462346e-05)
    p = p * x2 + np.float32(-7.34990630326855e-04)
    p = p * x2 + np.float32(-2.95459980854025e-03)
    p = p * x2 + np.float32(-1.60960333262415e-02)
    q = np.float32(-1.45660718464996e-05)
    q = q * x2 + np.float32(-2.13374055278905e-04)
    q = q * x2 + np.float32(-1.68282697438203e-03)
    q = q * x2 + np.float32(-7.37332916720468e-03)
    q = q * x2 + np.float32(-1.42647390514189e-02)
    return x * p / q


@njit(cache=True, nogil=True, fastmath=True, inline="always", error_model="numpy")
def _gelu_row(x, out):
    """The exact (erf) GELU of x into out."""
    for w in range(x.shape[0]):
        v = x[w]
        out[w] = np.float32(0.5) * v * (np.float32(1.0) + _erf(v * np.float32(0.7071067811865476)))


@njit(cache=True, nogil=True, error_model="numpy")
def _gelu(x, out):
    for r in range(x.shape[0]):
        _gelu_row(x[r], out[r])  # out of place: an in-place loop fails the vectoriser's alias check


@njit(cache=True, nogil=True, fastmath=True, inline="always", error_model="numpy")
def _exp_shifted(x, twos, n, top):
    """x[:n] <- exp(x - top) for x <= top, and their sum: 2^t = 2^k 2^f with t = (x - top) log2 e,
    k = round(t), a Taylor polynomial (degree 7) for 2^f on [-1/2, 1/2] and 2^k from exponent
    bits (twos: an int32 buffer). Within 2e-6 of exp down to -87 (the tests); 2^-126 below,
    nothing beside the largest term's 1. Vectorises, where libm's expf is one call a value."""
    for j in range(n):
        t = max((x[j] - top) * np.float32(1.4426950408889634), np.float32(-126.0))
        k = np.floor(t + np.float32(0.5))
        z = (t - k) * np.float32(0.6931471805599453)
        p = np.float32(1.0 / 5040.0)
        p = p * z + np.float32(1.0 / 720.0)
        p = p * z + np.float32(1.0 / 120.0)
        p = p * z + np.float32(1.0 / 24.0)
        p = p * z + np.float32(1.0 / 6.0)
        p = p * z + np.float32(0.5)
        p = p * z + np.float32(1.0)
        x[j] = p * z + np.float32(1.0)
        twos[j] = (np.int32(k) + np.int32(127)) << np.int32(23)
    scale = twos.view(np.float32)
    total = np.float32(0.0)
    for j in range(n):
        x[j] *= scale[j]
        total += x[j]
    return total


@njit(cache=True, nogil=True, fastmath=True, inline="always", error_model="numpy")
def _newest_slot(count, wrap):
    """The slot of the newest frame of a stream of `count` frames (frame f in slot f % wrap; wrap
    0: slot j holds frame j), and how many frames it has: a slot whose age (frames back from the
    newest) is that many or more is unfilled. Slot j's age is newest - j, plus wrap where that is
    negative in a ring; with wrap 0 a negative age is a frame ahead (offline)."""
    if wrap > 0:
        return (count - 1) % wrap, min(count, wrap)
    return count - 1, count


@njit(cache=True, nogil=True, fastmath=True, inline="always", error_model="numpy")
def _add_bias(scores, table_h, shift, newest, wrap, n):
    """scores[j] += table_h[shift + age of slot j] (shift: where offset 0 lies). Two runs of
    falling ages, so the loops read the table contiguously (backwards) and vectorise."""
    first = min(newest + 1, n) if wrap > 0 else n
    top = shift + newest
    for j in range(first):
        scores[j] += table_h[top - j]
    for j in range(first, n):
        scores[j] += table_h[top - j + wrap]


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def attend_rows(q, keys, values, n, table, has_bias, shift, counts, wrap, band_rows, heads, active, has_active, out):
    """Attention of one query frame per row against the first n slots of its band row.

    q (R, C) queries (not yet scaled); keys and values (S, H, slots, D); row r reads band row
    band_rows[r] (a speaker's band read by its K listener rows, or the rows a step advances), a
    stream of counts[s] frames in a ring of `wrap` slots (_slot_ages); the offset bias table
    (H, offsets) is read at shift + each slot's age when has_bias; slots the stream has not filled
    are masked (score -1e30, not -inf: fastmath code must not meet infinities); rows whose
    `active` is False (when has_active) are zeros. out (R, C): the heads' weighted values,
    head-major as the torch blocks lay them out."""
    d = q.shape[1] // heads
    scale = np.float32(d ** -0.5)
    scores = np.empty(n, np.float32)
    twos = np.empty(n, np.int32)
    qh = np.empty(d, np.float32)
    for r in range(q.shape[0]):
        if has_active and not active[r]:
            out[r] = 0.0
            continue
        s = band_rows[r]
        newest, limit = _newest_slot(counts[s], wrap)
        for h in range(heads):
            for e in range(d):  # scaled in a buffer, not a fresh array per head
                qh[e] = q[r, h * d + e] * scale
            kh = keys[s, h]
            j = 0
            while j + 4 <= n:  # four slots at a time: each loaded query value feeds four products
                k0, k1, k2, k3 = kh[j], kh[j + 1], kh[j + 2], kh[j + 3]
                a0 = a1 = a2 = a3 = np.float32(0.0)
                for e in range(d):
                    u = qh[e]
                    a0 += u * k0[e]
                    a1 += u * k1[e]
                    a2 += u * k2[e]
                    a3 += u * k3[e]
                scores[j], scores[j + 1], scores[j + 2], scores[j + 3] = a0, a1, a2, a3
                j += 4
            for jj in range(j, n):
                scores[jj] = _dot(qh, kh[jj])
            if has_bias:
                _add_bias(scores, table[h], shift, newest, wrap, n)
            if wrap > 0 and limit < n:  # a ring not yet full: its slots past the newest are empty
                for j in range(newest + 1, n):
                    scores[j] = np.float32(-1e30)
            top = scores[0]
            for j in range(1, n):
                top = max(top, scores[j])
            inverse = np.float32(1.0) / _exp_shifted(scores, twos, n, top)
            o = out[r, h * d:(h + 1) * d]
            o[:] = 0.0
            vh = values[s, h]
            j = 0
            while j + 4 <= n:  # four slots a pass over the output
                p0, p1 = scores[j] * inverse, scores[j + 1] * inverse
                p2, p3 = scores[j + 2] * inverse, scores[j + 3] * inverse
                v0, v1, v2, v3 = vh[j], vh[j + 1], vh[j + 2], vh[j + 3]
                for e in range(d):
                    o[e] += (p0 * v0[e] + p1 * v1[e]) + (p2 * v2[e] + p3 * v3[e])
                j += 4
            for jj in range(j, n):
                p = scores[jj] * inverse
                vj = vh[jj]
                for e in range(d):
                    o[e] += p * vj[e]


@njit(cache=True, nogil=True, error_model="numpy")
def _block_step(x, rows, conv_past, conv_w, conv_b, norms, w_qkv, b_qkv, w_out, b_out, w_up, b_up, w_down, b_down,
                keys, values, counts, keep, n, table, has_bias, shift, heads, eps, out):
    """Block.step on x (R, C), the next frame of state rows `rows`: out = x after the convolution,
    attention and MLP sub-blocks; each row's convolution past (of conv_past (S, kernel - 1, C))
    shifted in place, its key and value written at the slot its count (already counted) gives in
    the ring (S, H, keep, D), attention over its first n slots. norms (3, 2, C): the three layer
    norms' gains and biases. Rows not in `rows` are not touched."""
    rows_n, c = x.shape
    d = c // heads
    kernel = conv_w.shape[0]
    h = np.empty_like(x)
    # convolution sub-block: the past holds normalised frames
    _layer_norm(x, norms[0, 0], norms[0, 1], eps, h)
    x1 = np.empty_like(x)
    for r in range(rows_n):
        past = conv_past[rows[r]]
        for ch in range(c):
            acc = np.float32(0.0)
            for k in range(kernel - 1):
                acc += past[k, ch] * conv_w[k, ch]
            acc += h[r, ch] * conv_w[kernel - 1, ch]
            x1[r, ch] = x[r, ch] + (acc + conv_b[ch])
        for k in range(kernel - 2):
            past[k] = past[k + 1]
        if kernel > 1:
            past[kernel - 2] = h[r]
    # attention sub-block
    _layer_norm(x1, norms[1, 0], norms[1, 1], eps, h)
    qkv = np.empty((rows_n, 3 * c), np.float32)
    _linear(h, w_qkv, b_qkv, qkv)
    for r in range(rows_n):
        s = rows[r]
        slot = (counts[s] - 1) % keep
        for hd in range(heads):
            for e in range(d):
                keys[s, hd, slot, e] = qkv[r, c + hd * d + e]
                values[s, hd, slot, e] = qkv[r, 2 * c + hd * d + e]
    y = np.empty_like(x)
    attend_rows(qkv[:, :c], keys, values, n, table, has_bias, shift, counts, keep, rows, heads, _NO_ROWS, False, y)
    x2 = np.empty_like(x)
    _linear(y, w_out, b_out, x2)
    x2 += x1
    # MLP sub-block
    _layer_norm(x2, norms[2, 0], norms[2, 1], eps, h)
    up = np.empty((rows_n, w_up.shape[0]), np.float32)
    _linear(h, w_up, b_up, up)
    act = np.empty_like(up)
    _gelu(up, act)
    _linear(act, w_down, b_down, out)
    out += x2


@njit(cache=True, nogil=True, error_model="numpy")
def _cross_step(x, norm, w_q, b_q, keys, values, n, table, has_bias, shift, counts, wrap, band_rows, heads, eps,
                w_out, b_out, gate, on, has_on, out):
    """ListenerBlock's gated cross-attention for one frame: out = x + tanh(gate) * attention of
    LN(x) over the speakers' keys and values (S, H, n, D), row r reading speaker band_rows[r]
    (counts and wrap: attend_rows), times on (R,) where has_on (0: the listener-only rows of
    guidance)."""
    rows, c = x.shape
    h = np.empty_like(x)
    _layer_norm(x, norm[0], norm[1], eps, h)
    q = np.empty_like(x)
    _linear(h, w_q, b_q, q)
    y = np.empty_like(x)
    # listener-only rows (on = 0) add nothing: their attention is not computed
    attend_rows(q, keys, values, n, table, has_bias, shift, counts, wrap, band_rows, heads, on != 0, has_on, y)
    _linear(y, w_out, b_out, h)
    g = np.float32(math.tanh(gate))
    for r in range(rows):
        scale = on[r] if has_on else np.float32(1.0)
        for ch in range(c):
            out[r, ch] = x[r, ch] + (g * h[r, ch]) * scale


@njit(cache=True, nogil=True, fastmath=True, inline="always", error_model="numpy")
def _lerp_row(start, end, weight):
    """end <- torch.lerp(start, end, weight), in torch's own two formulas."""
    if weight < 0.5:
        for w in range(end.shape[0]):
            end[w] = start[w] + weight * (end[w] - start[w])
    else:
        for w in range(end.shape[0]):
            end[w] = end[w] - (end[w] - start[w]) * (np.float32(1.0) - weight)


@njit(cache=True, nogil=True, fastmath=True, inline="always", error_model="numpy")
def _add_row(x, y):
    for w in range(x.shape[0]):
        x[w] += y[w]


@njit(cache=True, nogil=True, error_model="numpy")
def _sample_digits(pre, rows, guided, guidance, w2, b2, levels, images, temperature, u, basis, tokens):
    """DigitHead.sample after its first layer: pre (rows, or 2 x rows with guidance, D x W) every
    digit's first-layer activations (updated in place as digits are chosen), w2 (D, L, W) and b2
    (D, L) each digit's output layer padded to the largest level count L, images (D - 1, L,
    (D - 1) x W) each chosen digit's image under the later digits' first layers, u (rows, D)
    uniform draws, guidance (rows,) each row's. Per digit: GELU, guidance mixed like torch.lerp,
    logits, then the first level whose cumulative probability exceeds u x total (argmax at
    temperature 0)."""
    digits = levels.shape[0]
    width = w2.shape[2]
    hidden = np.empty(width, np.float32)
    free = np.empty(width, np.float32)
    logits = np.empty(w2.shape[1], np.float32)
    for r in range(rows):
        g = guidance[r]
        token = 0
        for i in range(digits):
            lo = i * width
            _gelu_row(pre[r, lo:lo + width], hidden)
            if guided:
                _gelu_row(pre[rows + r, lo:lo + width], free)
                _lerp_row(free, hidden, g)
            n = levels[i]
            for l in range(n):
                logits[l] = _dot(hidden, w2[i, l]) + b2[i, l]
            digit = 0
            if temperature == 0.0:
                for l in range(1, n):
                    if logits[l] > logits[digit]:
                        digit = l
            else:
                top = -np.inf
                for l in range(n):
                    logits[l] = logits[l] / np.float32(temperature)
                    top = max(top, logits[l])
                total = np.float32(0.0)
                for l in range(n):
                    logits[l] = np.float32(math.exp(logits[l] - top))
                    total += logits[l]
                cumulative = np.float32(0.0)
                for l in range(n):  # the softmax's cumulative sum, as torch's cumsum of probabilities
                    cumulative += logits[l] / total
                    logits[l] = cumulative
                threshold = np.float32(u[r, i]) * logits[n - 1]
                while digit < n - 1 and logits[digit] <= threshold:
                    digit += 1
            token += digit * basis[i]
            if i < digits - 1:
                later = (digits - 1 - i) * width
                _add_row(pre[r, lo + width:lo + width + later], images[i, digit, :later])
                if guided:
                    _add_row(pre[rows + r, lo + width:lo + width + later], images[i, digit, :later])
        tokens[r] = token


@njit(cache=True, nogil=True, error_model="numpy")
def advance_rows(counts, rows, keep, slots):
    """Count one more frame for each row in `rows` of a ring of `keep` slots: slots[i] <- the slot
    row rows[i] writes; counts updated in place. Returns the fewest and the most frames of any row."""
    for i in range(rows.shape[0]):
        slots[i] = counts[rows[i]] % keep
        counts[rows[i]] += 1
    low = high = counts[0]
    for c in counts:
        low = min(low, c)
        high = max(high, c)
    return low, high


@njit(cache=True, nogil=True, error_model="numpy")
def write_slots(data, rows, slots, new):
    """data[rows[i], :, slots[i]] <- new[i, :, 0]: one frame per row into its own slot of a ring
    (S, H, keep, D)."""
    for i in range(rows.shape[0]):
        for h in range(data.shape[1]):
            data[rows[i], h, slots[i]] = new[i, h, 0]


# -- glue: weights and states as arrays -------------------------------------------------------------
# The kernels above take arrays only. A module turns its weights into arrays once (`arrays`, with
# its own build function next to its own step) and picks this path or torch's in its `step`.

def arrays(module: torch.nn.Module, build) -> tuple:
    """build(module)'s arrays, kept on the module until one of its parameters changes."""
    params = module.__dict__.get("_fast_params")
    if params is None:  # walking the module tree costs more than a step's kernel: once
        params = module.__dict__["_fast_params"] = list(module.parameters())
    # Versions only grow, and every in-place change (an optimiser step, load_state_dict) bumps one:
    # their sum changes whenever a weight has (reading each data pointer too cost 20 us a call).
    key = sum(p._version for p in params)
    cached = module.__dict__.get("_fast_arrays")
    if cached is None or cached[0] != key:
        with torch.no_grad():
            cached = module.__dict__["_fast_arrays"] = (key, tuple(build(module)))
    return cached[1]


def linear(layer: torch.nn.Linear) -> tuple[np.ndarray, np.ndarray]:
    """A Linear's weight (O, I) and bias as contiguous arrays."""
    return np.ascontiguousarray(layer.weight.detach().numpy()), np.ascontiguousarray(layer.bias.detach().numpy())


def bias_table(position) -> tuple[np.ndarray, int]:
    """A RelativeBias's table (H, offsets) and where offset 0 lies in it; an empty one if None."""
    if position is None:
        return _NONE2, 0
    return np.ascontiguousarray(position.table.detach().numpy()), position.future


_NONE2 = np.zeros((1, 1), np.float32)
_SERIES: dict[tuple[int, int], np.ndarray] = {}


def series(rows: int, group: int = 1) -> np.ndarray:
    """[0, .., rows - 1] // group as int64 (every row, or each row's speaker), made once per size."""
    key = (rows, group)
    got = _SERIES.get(key)
    if got is None:
        if len(_SERIES) > 1024:
            _SERIES.clear()
        got = _SERIES[key] = np.arange(rows, dtype=np.int64) // group
    return got


# A step of many rows (a batch of clips generated side by side) runs as a few row ranges on
# threads inside `kernel_threads`: the kernels hold no GIL and each row writes only its own state,
# so the ranges run at once. Ranges start at multiples of 4 rows, the way _linear groups them, so
# every row is computed exactly as in one call.
SPLIT_ROWS = 128  # below this a thread's start costs more than half the step saves
_THREADS = 1  # ranges a step of many rows runs as (kernel_threads sets it)
_POOLS: dict = {}  # workers -> a ThreadPoolExecutor, made on first use


@contextlib.contextmanager
def kernel_threads():
    """Inside, torch runs on one thread and a compiled step of many rows on as many as torch had:
    torch's OpenMP threads, spinning for work after each small op, kept the second core from them
    (200 frames of 56 clips x K = 5 with guidance: 7.3 s; split with torch's threads spinning, 7.1 s;
    split with torch on one, 5.6 s)."""
    global _THREADS
    threads, previous = torch.get_num_threads(), _THREADS
    torch.set_num_threads(1)
    _THREADS = threads
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        _THREADS = previous


def _in_ranges(n_rows: int, run) -> None:
    """run(start, stop) over row ranges covering n_rows, on threads for many rows in kernel_threads."""
    threads = _THREADS
    if n_rows < SPLIT_ROWS or threads < 2:
        run(0, n_rows)
        return
    if threads - 1 not in _POOLS:
        from concurrent.futures import ThreadPoolExecutor

        _POOLS[threads - 1] = ThreadPoolExecutor(threads - 1, thread_name_prefix="facereact-fast")
    step = ((n_rows + threads - 1) // threads + 3) // 4 * 4  # rows a range, a multiple of 4
    bounds = [(a, min(a + step, n_rows)) for a in range(0, n_rows, step)]
    pending = [_POOLS[threads - 1].submit(run, a, b) for a, b in bounds[1:]]
    run(*bounds[0])
    for done in pending:
        done.result()


def block_step(weights: tuple, x: torch.Tensor, state: dict, n: int, rows: np.ndarray | None = None) -> torch.Tensor:
    """A transformer block's step for x (R, 1, C) in one compiled call: weights as its module built
    them (nn/blocks.py), `state` its named tensors (the convolution's past "conv", the ring's
    "keys", "values" and "frames", already counted for this frame: nn/ring.py), attention over
    the first n slots; rows: which rows of the state x advances (None: all)."""
    n_rows, _, c = x.shape
    (conv_w, conv_b, norms, w_qkv, b_qkv, w_out, b_out, w_up, b_up, w_down, b_down, eps, heads,
     table, shift, has_bias) = weights
    keys = state["keys"]
    out = np.empty((n_rows, c), np.float32)
    xs, rows = x.reshape(n_rows, c).contiguous().numpy(), series(n_rows) if rows is None else rows
    conv, k, v, frames = state["conv"].numpy(), keys.numpy(), state["values"].numpy(), state["frames"].numpy()

    def run(a: int, b: int) -> None:
        _block_step(xs[a:b], rows[a:b], conv, conv_w, conv_b, norms, w_qkv, b_qkv, w_out, b_out, w_up, b_up, w_down,
                    b_down, k, v, frames, keys.shape[2], n, table, has_bias, shift, heads, eps, out[a:b])

    _in_ranges(n_rows, run)
    return torch.from_numpy(out).view(n_rows, 1, c)


_ONES = np.ones(1, np.float32)


def cross_step(weights: tuple, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, n: int, counts: np.ndarray,
               wrap: int, band_rows: np.ndarray, speaker_on: torch.Tensor | None) -> torch.Tensor:
    """A gated cross-attention's residual for x (R, 1, C) in one compiled call (weights as
    nn/cross.py builds them): k and v (S, H, slots, D) read in their first n slots, row r reading
    speaker band_rows[r], a stream of counts[s] frames in a ring of `wrap` slots (0: slot j is
    frame j; attend_rows), speaker_on (R, 1, 1) or None."""
    rows, _, c = x.shape
    norm, w_q, b_q, w_out, b_out, eps, gate, heads, table, shift, has_bias = weights
    out = np.empty((rows, c), np.float32)
    xs, keys, values = x.reshape(rows, c).contiguous().numpy(), k.numpy(), v.numpy()
    on = _ONES if speaker_on is None else speaker_on.reshape(rows).numpy()
    has_on = speaker_on is not None

    def run(a: int, b: int) -> None:
        _cross_step(xs[a:b], norm, w_q, b_q, keys, values, n, table, has_bias, shift, counts, wrap, band_rows[a:b],
                    heads, eps, w_out, b_out, gate, on[a:b] if has_on else on, has_on, out[a:b])

    _in_ranges(rows, run)
    return torch.from_numpy(out).view(rows, 1, c)


def sample_digits(weights: tuple, pre: torch.Tensor, rows: int, guidance: torch.Tensor | None, temperature: float,
                  u: torch.Tensor) -> torch.Tensor:
    """A digit head's sampling loop in one compiled call (weights as generator/digits.py builds
    them; pre: its first layer's activations, rows x (2 with guidance) by digits x width,
    consumed); the (rows,) tokens. guidance: (rows,) each row's; None: not guided."""
    w2, b2, levels, images, basis = weights
    tokens = np.empty(rows, np.int64)
    # float32 rows, always: another dtype would compile (and wait for) a second version of the kernel
    g = np.ones(rows, np.float32) if guidance is None else guidance.numpy().astype(np.float32)
    _sample_digits(pre.contiguous().numpy(), rows, guidance is not None, g,
                   w2, b2, levels, images, float(temperature), u.numpy(), basis, tokens)
    return torch.from_numpy(tokens)
