"""Live Link Face packets decode to the frame sent, over a real UDP socket on 127.0.0.1."""
import socket

import numpy as np
import pytest

from facereact.layout import BLENDSHAPE_NAMES, FACE_DIM, face_index
from facereact.live.livelink import (LIVE_LINK_BLENDSHAPES, VALUES, LiveLinkEmitter, decode_packet, encode_packet,
                                     parse_address)


def face() -> np.ndarray:
    f = np.linspace(0.0, 1.0, FACE_DIM).astype(np.float32)
    f[face_index("pitch")], f[face_index("yaw")], f[face_index("roll")] = 0.1, -0.25, 0.05
    return f


def test_the_packet_holds_every_blendshape_by_name_and_the_head_angles() -> None:
    assert sorted(LIVE_LINK_BLENDSHAPES) == sorted(BLENDSHAPE_NAMES) and VALUES == 61
    packet = decode_packet(encode_packet(face(), 42, "listener-0"))
    assert (packet["version"], packet["subject"], packet["frame"], packet["rate"]) == (6, "listener-0", 42, (25, 1))
    values = packet["values"]
    for name in BLENDSHAPE_NAMES:
        assert values[name] == pytest.approx(face()[face_index(name)])
    assert (values["HeadYaw"], values["HeadPitch"], values["HeadRoll"]) == pytest.approx((-0.25, 0.1, 0.05))
    assert values["LeftEyeYaw"] == 0.0
    # the size the Live Link source expects: 1 + (4 + 9) + (4 + 10) + 16 + 1 + 61 * 4
    assert len(encode_packet(face(), 0, "listener-0")) == 1 + 13 + 14 + 16 + 1 + 244


def test_the_emitter_sends_one_packet_per_frame_to_its_address() -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    emitter = LiveLinkEmitter("127.0.0.1", receiver.getsockname()[1], subject="robot")
    try:
        for frame in range(3):
            emitter(7, frame, face()[None], np.zeros((1, 25)))
        packets = [decode_packet(receiver.recv(2048)) for _ in range(3)]
    finally:
        emitter.close()
        receiver.close()
    assert [p["frame"] for p in packets] == [0, 1, 2] and {p["subject"] for p in packets} == {"robot-7"}
    assert packets[0]["values"]["jawOpen"] == pytest.approx(face()[face_index("jawOpen")])


def test_a_bad_address_is_a_clear_error() -> None:
    assert parse_address("10.0.0.5:11111") == ("10.0.0.5", 11111)
    for bad in ("10.0.0.5", "host:port", ":11111", "h:70000"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            parse_address(bad)
