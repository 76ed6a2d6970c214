"""torchrun / DDP plumbing: the same command runs on 1 process or N (nccl on GPU, gloo on CPU)."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from facereact.errors import UsageError


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup(device: str | None = None) -> Dist:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); no-op otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device not in (None, "cpu", "cuda"):
        raise UsageError(f"--device must be cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: this machine has no CUDA device (use --device cpu)")
    want_cuda = (device or ("cuda" if torch.cuda.is_available() else "cpu")) == "cuda"
    dev = torch.device("cuda", local) if want_cuda else torch.device("cpu")
    if want_cuda:
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if want_cuda else "gloo", rank=rank, world_size=world)
    return Dist(rank, world, local, dev)


def is_main_process() -> bool:
    """True on rank 0 of a torchrun launch, and in a plain single-process run."""
    return int(os.environ.get("RANK", "0")) == 0


def barrier(d: Dist) -> None:
    if d.world > 1:
        dist.barrier()


def teardown() -> None:
    """Leave the process group, once, when the command is done."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
