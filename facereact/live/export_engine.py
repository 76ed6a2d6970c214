"""Live conversations on an export (`facereact export`) instead of a PyTorch generator:
`facereact serve --model EXPORT_DIR`.

The graph steps one conversation per call (its state tensors are one conversation's), so each
conversation keeps its own state and random numbers (export/runtime.ExportedListener) and a tick
steps them one after another through one shared onnxruntime session. It has ReactionEngine's
interface (live/engine.py), so the server, its limits, the neck, turn-taking and the avatar outputs
work the same; its frames (SpeakerFrame) carry raw PCM at the export's rate, which the graph turns into features.
A tick costs every conversation's step (2-5 ms each on 2 cores), where the batched engine's costs
little more than one: an export serves a few conversations, the PyTorch model many.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from facereact.errors import UsageError
from facereact.export.files import read_interface
from facereact.export.runtime import ExportedListener, onnx_session
from facereact.generator.session import ListenerFrame
from facereact.live.engine import ConversationQueues


class ExportEngine(ConversationQueues):
    def __init__(self, folder: str | Path, samples: int, max_queue: int = 50, interface: dict | None = None) -> None:
        """samples: the reactions each conversation gets, the first of the export's K; interface:
        the export's, already read (a server has it)."""
        super().__init__(max_queue)
        self.folder = Path(folder)
        self.interface = read_interface(folder) if interface is None else interface
        if not 1 <= samples <= self.interface["samples"]:
            raise UsageError(f"this export draws K = {self.interface['samples']} reactions; {samples} asked for")
        self.samples, self.rate = samples, self.interface["rate"]
        self.graph = onnx_session(self.folder / self.interface["graph"])
        self.listeners: dict[int, ExportedListener] = {}

    def prepare(self) -> None:
        """Nothing to make ahead: a conversation's state is a few small arrays."""

    def open(self, seed: int, cid: int | None = None, personality: np.ndarray | None = None) -> int:
        if personality is not None:  # the server refuses it at the hello: exports are of generic listeners
            raise UsageError("an export's listener is generic: it takes no personality")
        cid = super().open(seed, cid)
        self.listeners[cid] = ExportedListener(self.folder, seed, graph=self.graph, interface=self.interface)
        return cid

    def close(self, cid: int) -> None:
        self.conversations.pop(cid, None)
        self.listeners.pop(cid, None)

    def newcomers(self) -> list[int]:
        return []  # a new conversation steps with the others: there is no batch to join

    def tick(self) -> dict[int, ListenerFrame]:
        return self.tick_members()

    def tick_members(self) -> dict[int, ListenerFrame]:
        """One frame for every conversation that has one waiting."""
        out = {}
        for cid, conversation in self.conversations.items():
            if not conversation.queue:
                continue
            frame = conversation.queue.popleft()
            got = self.listeners[cid].step(frame.audio, self.rate, frame.face, frame.speaking)
            k = self.samples
            out[cid] = ListenerFrame(got.face[:k], got.emotion[:k], got.tokens[:k])
            conversation.frames += 1
        return out

    def tick_new(self) -> dict[int, ListenerFrame]:
        return {}
