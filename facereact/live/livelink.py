"""Listener frames as Unreal Engine Live Link Face packets, so a MetaHuman can be driven by
`facereact serve --livelink HOST:PORT` (Live Link's "LiveLinkFace" source listens on UDP 11111).

The packet is what the Live Link Face app sends, all big-endian: version (uint8, 6), the device id
and the subject name (each an int32 byte length and UTF-8), the frame time (int32 frame number,
float32 sub-frame, int32 rate numerator and denominator), the value count (uint8, 61) and 61 float32
values: the 52 ARKit blendshapes in Unreal's EARFaceBlendShape order, then head yaw, pitch, roll and
each eye's yaw, pitch, roll. Head angles are sent in radians as the face vector holds them; the
listener's eye rotations are not modelled (their blendshapes are) and go out as 0.
"""
from __future__ import annotations

import socket
import struct

import numpy as np

from facereact.layout import FPS, ROTATION, face_index

VERSION = 6
# Unreal's EARFaceBlendShape order (the app's), by ARKit name.
LIVE_LINK_BLENDSHAPES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
    "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight", "jawForward", "jawLeft", "jawRight", "jawOpen", "mouthClose", "mouthFunnel",
    "mouthPucker", "mouthLeft", "mouthRight", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft", "mouthPressRight",
    "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight", "browDownLeft",
    "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff", "cheekSquintLeft",
    "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut")
ANGLES: tuple[str, ...] = ("HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                           "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
VALUES = len(LIVE_LINK_BLENDSHAPES) + len(ANGLES)  # 61
_ORDER = np.array([face_index(name) for name in LIVE_LINK_BLENDSHAPES])
_PITCH, _YAW, _ROLL = range(ROTATION.start, ROTATION.stop)


def _text(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">i", len(data)) + data


def encode_packet(face: np.ndarray, frame: int, subject: str, device: str = "facereact") -> bytes:
    """One (FACE_DIM,) listener face as a Live Link Face packet for frame number `frame` at 25 fps."""
    values = np.zeros(VALUES, ">f4")
    values[:len(_ORDER)] = face[_ORDER]
    values[len(_ORDER):len(_ORDER) + 3] = face[[_YAW, _PITCH, _ROLL]]
    return (struct.pack(">B", VERSION) + _text(device) + _text(subject) + struct.pack(">ifii", frame, 0.0, FPS, 1)
            + struct.pack(">B", VALUES) + values.tobytes())


def decode_packet(data: bytes) -> dict:
    """A Live Link Face packet's fields (for tests and for checking what an engine receives)."""
    def text(at: int) -> tuple[str, int]:
        (n,) = struct.unpack_from(">i", data, at)
        return data[at + 4:at + 4 + n].decode(), at + 4 + n

    (version,) = struct.unpack_from(">B", data, 0)
    device, at = text(1)
    subject, at = text(at)
    frame, sub_frame, numerator, denominator = struct.unpack_from(">ifii", data, at)
    (count,) = struct.unpack_from(">B", data, at + 16)
    values = np.frombuffer(data, ">f4", count, at + 17).astype(np.float32)
    if at + 17 + 4 * count != len(data):
        raise ValueError(f"a Live Link Face packet of {count} values is {at + 17 + 4 * count} bytes, got {len(data)}")
    names = LIVE_LINK_BLENDSHAPES + ANGLES
    return {"version": version, "device": device, "subject": subject, "frame": frame, "sub_frame": sub_frame,
            "rate": (numerator, denominator), "values": dict(zip(names, values.tolist()))}


class LiveLinkEmitter:
    """Sends every listener frame (the reaction the client follows) to host:port over UDP, one Live
    Link subject per conversation: "<subject>-<conversation id>"."""

    def __init__(self, host: str, port: int = 11111, subject: str = "facereact") -> None:
        self.address, self.subject = (host, port), subject
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def __call__(self, conversation: int, frame: int, face: np.ndarray, emotion: np.ndarray) -> None:
        packet = encode_packet(face[0], frame, f"{self.subject}-{conversation}")
        try:
            self.socket.sendto(packet, self.address)
        except OSError:  # UDP: an unreachable engine must not stop the reactions
            pass

    def close(self) -> None:
        self.socket.close()


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--livelink takes HOST:PORT, got {text!r}")
    return host, int(port)
