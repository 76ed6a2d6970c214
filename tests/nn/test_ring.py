"""A ring of keys and values as named tensors (nn/ring.py) and the walkers of any stream state
(nn/streaming.py)."""
import numpy as np
import pytest
import torch

from facereact.nn import ring, streaming
from facereact.nn.position import RelativeBias


def _push(state: dict, values: list[float], rows: np.ndarray | None = None) -> ring.Span:
    frame = torch.tensor(values).view(-1, 1, 1, 1)
    return ring.append(state, 4, frame, -frame, rows)


def _slots(state: dict) -> list:
    return state["keys"][:, 0, :, 0].tolist()


def test_a_ring_keeps_the_last_frames_and_knows_their_ages() -> None:
    state = ring.new_ring(1, 1, 4, 1)
    for t in range(3):
        extent = _push(state, [float(t)])
    assert extent.length == 3 and ring.ages(extent).tolist() == [2, 1, 0]
    for t in range(3, 7):
        extent = _push(state, [float(t)])
    # slots hold frames 4, 5, 6, 3 (the ring wrapped); each slot's age is how far back its frame lies
    assert _slots(state) == [[4, 5, 6, 3]] and ring.ages(extent).tolist() == [2, 1, 0, 3]
    assert state["values"][0, 0, :, 0].tolist() == [-4, -5, -6, -3]
    assert ring.ordered(state, "keys", 4)[0, 0, :, 0].tolist() == [3, 4, 5, 6]
    # joined with a younger stream (2 frames): each row keeps its own slots and count, the younger
    # row's two empty slots masked
    young = ring.new_ring(1, 1, 4, 1)
    for t in (10, 11):
        _push(young, [float(t)])
    both = streaming.join([state, young])
    extent = ring.span(both, 4)
    assert _slots(both) == [[4, 5, 6, 3], [10, 11, 0, 0]] and not extent.uniform
    assert ring.row_ages(both, extent).tolist() == [[2, 1, 0, 3], [1, 0, 3, 2]]
    assert ring.unfilled(both, extent).tolist() == [[False] * 4, [False, False, True, True]]
    assert ring.ordered(both, "keys", 4)[:, 0, :, 0].tolist() == [[3, 4, 5, 6], [0, 0, 10, 11]]
    extent = _push(both, [7.0, 12.0])
    # frame 7 overwrote frame 3 (slot 3), frame 12 filled the younger row's slot 2
    assert _slots(both) == [[4, 5, 6, 7], [10, 11, 12, 0]]
    assert ring.unfilled(both, extent).tolist() == [[False] * 4, [False, False, False, True]]
    # only the younger row steps: the older row's slots, count and ages stay as they were
    extent = _push(both, [13.0], rows=np.array([1]))
    assert _slots(both) == [[4, 5, 6, 7], [10, 11, 12, 13]] and both["frames"].tolist() == [8, 4]
    assert ring.unfilled(both, extent) is None
    assert ring.row_ages(both, extent).tolist() == [[3, 2, 1, 0], [3, 2, 1, 0]]
    one = streaming.take(both, torch.tensor([0]), 2)
    assert ring.span(one, 4).uniform and ring.ages(ring.span(one, 4)).tolist() == [3, 2, 1, 0]
    # the bias of the wrapped ring is the bias of the ordered band, slot by slot
    bias = RelativeBias(heads=2, past=4)
    wrapped = ring.Span(4, 7, 7)
    assert torch.equal(bias(ring.ages(wrapped))[:, [3, 0, 1, 2]], bias(torch.tensor([3, 2, 1, 0])))


def test_a_row_started_over_masks_its_old_frames_until_it_overwrites_them() -> None:
    state = ring.new_ring(2, 1, 4, 1)
    for t in range(5):
        _push(state, [float(t), float(10 + t)])
    streaming.place(state, ring.new_ring(1, 1, 4, 1), torch.tensor([1]), 2)
    extent = _push(state, [5.0, 20.0])
    assert state["frames"].tolist() == [6, 1]
    # the new row's frame went to slot 0; its three other slots hold zeros and are masked
    assert _slots(state) == [[4, 5, 2, 3], [20, 0, 0, 0]]
    assert ring.unfilled(state, extent).tolist() == [[False] * 4, [False, True, True, True]]
    assert torch.isinf(ring.bias(state, extent, None)[1, 0, 0, 1:]).all()


def test_the_walkers_join_take_and_place_any_nesting_of_named_tensors() -> None:
    def state(conversations: int, start: float) -> dict:
        rows = torch.arange(conversations * 2, dtype=torch.float32) + start
        return {"per_row": rows, "nested": [{"per_conversation": rows[::2].clone()}], "absent": None}

    a, b = state(2, 0.0), state(1, 100.0)
    both = streaming.join([a, b])
    assert both["per_row"].tolist() == [0, 1, 2, 3, 100, 101] and both["absent"] is None
    assert both["nested"][0]["per_conversation"].tolist() == [0, 2, 100]
    taken = streaming.take(both, torch.tensor([2, 0]), 3)
    assert taken["per_row"].tolist() == [100, 101, 0, 1] and taken["nested"][0]["per_conversation"].tolist() == [100, 0]
    storage = both["per_row"]
    streaming.place(both, state(1, -5.0), torch.tensor([1]), 3)
    assert both["per_row"] is storage and storage.tolist() == [0, 1, -5, -4, 100, 101]
    assert both["nested"][0]["per_conversation"].tolist() == [0, -5, 100]
    assert streaming.conversation_rows(np.array([2, 0]), 3).tolist() == [6, 7, 8, 0, 1, 2]
    with pytest.raises(TypeError, match="tensors, dicts and lists"):
        streaming.join([{"x": 1.0}, {"x": 2.0}])
