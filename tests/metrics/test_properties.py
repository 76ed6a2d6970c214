import numpy as np
import pytest

from facereact.layout import EMOTION_DIM, EMOTION_GROUPS
from facereact.metrics import check_inputs, evaluate, frsyn
from facereact.metrics.dtw import _closest, _group_arrays, au_masks, grouped_dtw, min_distances


def smooth(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Sequences without constant columns: random walks."""
    return np.cumsum(rng.normal(0, 0.1, shape), axis=-2).astype(np.float32)


def arrays(n=4, k=3, t=60, seed=0):
    rng = np.random.default_rng(seed)
    neighbour = (rng.random((n, n)) < 0.5).astype(float)
    np.fill_diagonal(neighbour, 1)
    return {"pred": smooth(rng, (n, k, t, EMOTION_DIM)), "listener_gt": smooth(rng, (n, t, EMOTION_DIM)),
            "speaker_gt": smooth(rng, (n, t, EMOTION_DIM)), "neighbour": neighbour}


def textbook_dtw(a: np.ndarray, b: np.ndarray) -> float:
    """Independent reference, written as tslearn's loop: full DP matrix, squared Euclidean cost
    summed column by column in order, sqrt at the end. Same operations, so the same bits."""
    n, m = len(a), len(b)
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost = 0.0
            for c in range(a.shape[1]):
                cost += (a[i - 1, c] - b[j - 1, c]) * (a[i - 1, c] - b[j - 1, c])
            acc[i, j] = cost + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
    return float(np.sqrt(acc[n, m]))


def textbook_grouped(a: np.ndarray, b: np.ndarray) -> float:
    bounds, weights = _group_arrays()
    total = 0.0
    for (lo, hi), w in zip(bounds, weights):
        total += w * textbook_dtw(a[:, lo:hi], b[:, lo:hi])
    return total


@pytest.mark.parametrize("t1,t2", [(1, 1), (1, 4), (7, 7), (8, 5), (5, 9), (30, 30), (17, 40)])
def test_grouped_dtw_equals_textbook(t1: int, t2: int) -> None:
    rng = np.random.default_rng(t1 * 100 + t2)
    a, b = rng.random((t1, EMOTION_DIM)), rng.random((t2, EMOTION_DIM))
    expected = textbook_grouped(a, b)
    got, cells = grouped_dtw(a, b)
    assert got == expected and cells == 3 * t1 * t2  # to the last bit
    # A limit below the answer abandons; a limit above it changes nothing.
    assert grouped_dtw(a, b, expected * 0.5)[0] == np.inf
    assert grouped_dtw(a, b, expected * 1.01)[0] == got


@pytest.mark.parametrize("binary_b", [True, False])
def test_binary_aus_take_the_popcount_path_with_the_same_sum(binary_b: bool) -> None:
    rng = np.random.default_rng(5)
    a, b = rng.random((23, EMOTION_DIM)), rng.random((19, EMOTION_DIM))
    au = EMOTION_GROUPS["au"]
    a[:, au] = rng.random((23, au.stop - au.start)) < 0.3
    if binary_b:
        b[:, au] = rng.random((19, au.stop - au.start)) < 0.3
    masks, binary = au_masks(a)
    assert bool(binary) and masks[4] == sum(1 << c for c in range(au.stop - au.start) if a[4, c] == 1)
    assert grouped_dtw(a, b)[0] == textbook_grouped(a, b)  # to the last bit, popcount or not


def test_pruning_gives_the_brute_force_minimum() -> None:
    data = arrays(n=6, k=4, t=40, seed=3)
    inputs = check_inputs(**data)
    pruned, work = min_distances(inputs)
    for row in range(6):
        for s in range(4):
            brute = min(grouped_dtw(inputs.pred[row, s], inputs.listener_gt[j])[0]
                        for j in np.flatnonzero(inputs.neighbour[row]))
            assert pruned[row, s] == brute
    assert work["dtw_cells_computed"] <= work["dtw_cells"]


def test_lanes_mixing_kernels_and_uneven_searches_give_the_brute_force_minimum() -> None:
    # Four DTWs run side by side, each lane its own sample's search. Here samples have 1 to 5
    # candidates (lanes finish and refill at different rows), and some samples or candidates have
    # 0/1 AUs (popcount kernel) while others do not (every column): each minimum must be the
    # textbook's, to the last bit, and a row without candidates gives inf.
    rng = np.random.default_rng(11)
    n, k, t, m = 5, 3, 16, 7
    au = EMOTION_GROUPS["au"]
    pred = rng.random((n, k, t, EMOTION_DIM)).astype(np.float32)
    gt = rng.random((m, t, EMOTION_DIM)).astype(np.float32)
    pred[:, :2, :, au] = rng.random((n, 2, t, au.stop - au.start)) < 0.3  # samples 0, 1 binary, 2 not
    gt[:6, :, au] = rng.random((6, t, au.stop - au.start)) < 0.3  # target 6 not binary
    lists = [[0, 1], [2, 3, 4, 5, 6], [5], [], [1, 2, 3, 4]]
    nbr_idx = np.array([j for row in lists for j in row], np.int64)
    nbr_ptr = np.cumsum([0] + [len(row) for row in lists])
    got, work = _closest(pred, gt, nbr_idx, nbr_ptr)
    for row, candidates in enumerate(lists):
        for s in range(k):
            expected = min((textbook_grouped(pred[row, s].astype(np.float64), gt[j].astype(np.float64))
                            for j in candidates), default=np.inf)
            assert got[row, s] == expected, (row, s)
    assert 0 < work["dtw_cells_computed"] <= work["dtw_cells"]


def test_ground_truth_scores_perfectly() -> None:
    data = arrays()
    k = data["pred"].shape[1]
    data["pred"] = np.repeat(data["listener_gt"][:, None], k, axis=1)
    result = evaluate(**data)
    assert result["FRDist"] == 0.0
    assert result["FRCorr"] == pytest.approx(k, rel=1e-6)
    assert result["FRDiv"] == 0.0
    assert 0.0 <= result["FRFD"] < 1e-5  # eigenvalue rounding, against traces of order 1


def test_constant_column_forces_49_only_in_official_mode() -> None:
    data = arrays(n=3, k=2, t=120, seed=5)
    speaker = data["speaker_gt"]
    pred = np.repeat(speaker[:, None, 10:], 2, axis=1)  # the speaker delayed by 10 frames
    pred = np.concatenate([pred, np.repeat(pred[:, :, -1:], 10, axis=2)], axis=2)
    assert frsyn(pred, speaker, "official") == 10.0 and frsyn(pred, speaker, "corrected") == 10.0
    pred[:, :, :, 3] = 0.25
    assert frsyn(pred, speaker, "official") == 49.0
    assert frsyn(pred, speaker, "corrected") == 10.0


def test_permuting_samples_changes_nothing() -> None:
    data = arrays(n=5, k=4, t=50, seed=7)
    base = evaluate(**data, mode="corrected")
    data["pred"] = data["pred"][:, [2, 0, 3, 1]]
    permuted = evaluate(**data, mode="corrected")
    for key in ("FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRFD", "FRSyn"):
        # FRFD goes through eigen-decompositions whose rounding depends on row order.
        assert permuted[key] == pytest.approx(base[key], rel=1e-6 if key == "FRFD" else 1e-9), key


def test_short_clips_have_no_synchrony() -> None:
    """Clips shorter than the lag range: the reference's empty windows are NaN, offset 49."""
    data = arrays(n=2, k=2, t=20, seed=11)
    assert frsyn(data["pred"], data["speaker_gt"], "official") == 49.0
    assert frsyn(data["pred"], data["speaker_gt"], "corrected") < 49.0


def test_realism_grows_with_distribution_shift() -> None:
    data = arrays(n=6, k=3, t=80, seed=9)
    close = evaluate(**data)["FRFD"]
    data["pred"] = data["pred"] * 3 + 1
    assert evaluate(**data)["FRFD"] > close + 1.0


@pytest.mark.parametrize("offset", [0.0, 1000.0])
def test_spread_figures_equal_their_pairwise_definitions(offset: float) -> None:
    # The one-pass FRDiv, FRVar, FRDvs against their definitions written out: all ordered pairs,
    # np.var; an offset far from zero checks that the shifted sums keep their precision.
    from facereact.metrics.diversity import spread

    rng = np.random.default_rng(4)
    n, k, t, d = 5, 3, 7, 4
    pred = (offset + rng.normal(0, 0.1, (n, k, t, d))).astype(np.float32)
    x = pred.astype(np.float64)
    div = np.mean([sum(((x[s, a] - x[s, b]) ** 2).sum() for a in range(k) for b in range(k)) / (k * (k - 1) * t * d)
                   for s in range(n)])
    dvs = sum(((x[a, i] - x[b, i]) ** 2).sum() for i in range(k) for a in range(n) for b in range(n)) \
        / (n * (n - 1) * k) / (t * d)
    var = x.var(axis=2, ddof=1).mean()
    got = spread(pred)
    assert got.frdiv == pytest.approx(div, rel=1e-9)
    assert got.frdvs == pytest.approx(dvs, rel=1e-9)
    assert got.frvar == pytest.approx(var, rel=1e-9)


def test_window_features_equal_their_direct_definition() -> None:
    # FRFD's window statistics from running sums against each window computed on its own: mean,
    # standard deviation, mean |velocity| of the steps inside the window.
    from facereact.metrics.realism import window_features

    rng = np.random.default_rng(8)
    seqs = (3.0 + rng.normal(0, 0.2, (2, 3, 40, 5))).astype(np.float32)
    window, stride = 10, 5
    got = window_features(seqs, window, stride)
    rows = []
    for seq in seqs.reshape(-1, 40, 5).astype(np.float64):
        for a in range(0, 40 - window + 1, stride):
            w = seq[a:a + window]
            rows.append(np.concatenate([w.mean(0), w.std(0), np.abs(np.diff(w, axis=0)).mean(0)]))
    np.testing.assert_allclose(got, np.array(rows), rtol=1e-9, atol=1e-9)
