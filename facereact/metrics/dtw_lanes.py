"""One DP row of four grouped DTWs side by side, one per float64 lane of a vector register.

Each lane is a different pair of sequences (its own a-frame, its own b), and every cell of the four
is computed with the same instructions, so LLVM's SLP vectoriser turns each group's four costs, mins
and sums into one vector operation. numba leaves SLP off by default (an LLVM 14 miscompilation,
numba #8705); these kernels are compiled with it on, and the tests check every result against a
loop written like tslearn's, to the last bit.

Arithmetic per lane is exactly the reference's: each group's cost is (a - b)^2 summed column by
column in order, from 0, without fused multiply-adds (numba does not contract), and each cell is
its cost plus the min of its up, diagonal and left neighbours. A popcount of 0/1 AU masks is the
same float64 as their summed squared differences.

Buffers are flat: `b` holds frame j's packed columns at (j * columns + c) * LANES + lane, `prev` and
`cur` hold column j of group g at (j * GROUPS + g) * LANES + lane.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import llvmlite.ir as llvm_ir
import numba
import numpy as np
from numba import njit, types, uint64
from numba.extending import intrinsic

from facereact.layout import EMOTION_GROUPS

LANES = 4  # float64 lanes of an AVX2 register; the helpers below are written out for 4
GROUPS = len(EMOTION_GROUPS)
_SPAN = {name: s.stop - s.start for name, s in EMOTION_GROUPS.items()}
# The kernels take group 0 as the AUs (packed into bit masks when binary), then affect, expression.
assert list(EMOTION_GROUPS) == ["au", "affect", "expression"] and _SPAN["au"] <= 31

# Packed columns: when AUs are binary only affect and expression are stored (their costs come from
# the masks); otherwise all three groups, in layout order.
MASKED_COLUMNS = np.r_[EMOTION_GROUPS["affect"], EMOTION_GROUPS["expression"]]
ALL_COLUMNS = np.r_[EMOTION_GROUPS["au"], EMOTION_GROUPS["affect"], EMOTION_GROUPS["expression"]]
_M_AFF = _SPAN["affect"]  # masked layout: affect at 0.._M_AFF, expression after
_M_END = _M_AFF + _SPAN["expression"]
_A_AU = _SPAN["au"]  # full layout: AUs at 0.._A_AU, affect, then expression
_A_AFF = _A_AU + _SPAN["affect"]
_A_END = _A_AFF + _SPAN["expression"]


@contextlib.contextmanager
def _slp_vectorised() -> Iterator[None]:
    """Compile with LLVM's SLP vectoriser on (numba reads the flag when it builds the pass pipeline)."""
    previous = numba.core.config.SLP_VECTORIZE
    numba.core.config.SLP_VECTORIZE = 1
    try:
        yield
    finally:
        numba.core.config.SLP_VECTORIZE = previous


@intrinsic
def _differing_bits(typingctx, x, y):
    """float64(popcount(x ^ y)): LLVM's ctpop, which vectorises (numba's integer typing would widen
    a hand-written bit count to int64, which AVX2 cannot convert to float64 in a vector)."""
    def codegen(context, builder, signature, args):
        return builder.sitofp(builder.ctpop(builder.xor(args[0], args[1])), llvm_ir.DoubleType())
    return types.float64(x, y), codegen


@njit(inline="always")
def _squared(a, b, bo, lane, lo, hi):
    s = 0.0
    for c in range(lo, hi):
        e = a[uint64(c * LANES + lane)] - b[bo + uint64(c * LANES + lane)]
        s += e * e
    return s


@njit(inline="always")
def _squared4(a, b, bo, lo, hi):
    return (_squared(a, b, bo, 0, lo, hi), _squared(a, b, bo, 1, lo, hi), _squared(a, b, bo, 2, lo, hi),
            _squared(a, b, bo, 3, lo, hi))


@njit(inline="always")
def _popcounts4(ma, mb, mo):
    return (_differing_bits(ma[0], mb[mo]), _differing_bits(ma[1], mb[mo + uint64(1)]),
            _differing_bits(ma[2], mb[mo + uint64(2)]), _differing_bits(ma[3], mb[mo + uint64(3)]))


@njit(inline="always")
def _load4(x, o):
    return x[o], x[o + uint64(1)], x[o + uint64(2)], x[o + uint64(3)]


@njit(inline="always")
def _store4(x, o, v):
    x[o] = v[0]
    x[o + uint64(1)] = v[1]
    x[o + uint64(2)] = v[2]
    x[o + uint64(3)] = v[3]


@njit(inline="always")
def _cell4(cost, up, diag, left):
    return (cost[0] + min(min(up[0], diag[0]), left[0]), cost[1] + min(min(up[1], diag[1]), left[1]),
            cost[2] + min(min(up[2], diag[2]), left[2]), cost[3] + min(min(up[3], diag[3]), left[3]))


@njit(inline="always")
def _min4(x, y):
    return min(x[0], y[0]), min(x[1], y[1]), min(x[2], y[2]), min(x[3], y[3])


@njit(inline="always")
def _row(a, ma, b, mb, prev, cur, start, mins, binary, track, au_lo, aff_lo, exp_lo, end):
    """The DP row of a's current frames (a: packed columns x LANES, ma: AU masks) against every frame
    of b, from the previous row `prev` into `cur`; `start` is each lane's diagonal for column 0 (0
    on a DTW's first row, inf after). If `track`, `mins` gets each group's and lane's row minimum
    (every warping path crosses the row, so it bounds the result): 3 of the row's ~40 vector
    operations a column, so the caller asks for it on some rows only."""
    t2 = mb.shape[0] // LANES
    inf4 = (np.inf, np.inf, np.inf, np.inf)
    left0 = left1 = left2 = inf4
    min0 = min1 = min2 = inf4
    diag0 = _load4(start, uint64(0))
    diag1 = _load4(start, uint64(LANES))
    diag2 = _load4(start, uint64(2 * LANES))
    bo = uint64(0)
    mo = uint64(0)
    po = uint64(0)
    for _ in range(t2):
        if binary:
            cost0 = _popcounts4(ma, mb, mo)
        else:
            cost0 = _squared4(a, b, bo, au_lo, aff_lo)
        cost1 = _squared4(a, b, bo, aff_lo, exp_lo)
        cost2 = _squared4(a, b, bo, exp_lo, end)
        up0 = _load4(prev, po)
        up1 = _load4(prev, po + uint64(LANES))
        up2 = _load4(prev, po + uint64(2 * LANES))
        left0 = _cell4(cost0, up0, diag0, left0)
        left1 = _cell4(cost1, up1, diag1, left1)
        left2 = _cell4(cost2, up2, diag2, left2)
        _store4(cur, po, left0)
        _store4(cur, po + uint64(LANES), left1)
        _store4(cur, po + uint64(2 * LANES), left2)
        if track:
            min0 = _min4(min0, left0)
            min1 = _min4(min1, left1)
            min2 = _min4(min2, left2)
        diag0, diag1, diag2 = up0, up1, up2
        bo += uint64(end * LANES)
        mo += uint64(LANES)
        po += uint64(GROUPS * LANES)
    if track:
        _store4(mins, uint64(0), min0)
        _store4(mins, uint64(LANES), min1)
        _store4(mins, uint64(2 * LANES), min2)


_ROW_SIGNATURE = "void(f8[::1], i4[::1], f8[::1], i4[::1], f8[::1], f8[::1], f8[::1], f8[::1])"

with _slp_vectorised():
    @njit(_ROW_SIGNATURE, cache=True, nogil=True)
    def row_masked(a, ma, b, mb, prev, cur, start, mins):
        """A row when every lane's AUs are 0/1: their costs are popcounts, b holds MASKED_COLUMNS."""
        _row(a, ma, b, mb, prev, cur, start, mins, True, False, 0, 0, _M_AFF, _M_END)

    @njit(_ROW_SIGNATURE, cache=True, nogil=True)
    def row_masked_mins(a, ma, b, mb, prev, cur, start, mins):
        """row_masked, also writing the row minima."""
        _row(a, ma, b, mb, prev, cur, start, mins, True, True, 0, 0, _M_AFF, _M_END)

    @njit(_ROW_SIGNATURE, cache=True, nogil=True)
    def row_columns(a, ma, b, mb, prev, cur, start, mins):
        """A row for any values: every group's squared differences, b holds ALL_COLUMNS."""
        _row(a, ma, b, mb, prev, cur, start, mins, False, False, 0, _A_AU, _A_AFF, _A_END)

    @njit(_ROW_SIGNATURE, cache=True, nogil=True)
    def row_columns_mins(a, ma, b, mb, prev, cur, start, mins):
        """row_columns, also writing the row minima."""
        _row(a, ma, b, mb, prev, cur, start, mins, False, True, 0, _A_AU, _A_AFF, _A_END)
