"""Training state that resumes exactly: the model, optimizer and step as safetensors plus JSON,
written atomically (the trained model's own folder files are facereact/model_files.py's)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load, save

from facereact.errors import DataError
from facereact.io import write_text_atomic


def _flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, scalars = {}, {}
    for pid, slots in state["state"].items():
        for key, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{pid}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for name, value in list(tensors.items()) + list(meta["scalars"].items()):
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


AVERAGE_FILE = "average.safetensors"  # the weight average (train/averaging.py), where training keeps one


def save_training_state(folder: str | Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                        extra: dict[str, Any], keep: int = 2, average: dict[str, torch.Tensor] | None = None) -> Path:
    """folder/step-XXXXXXXX/ written in a temporary folder, renamed, then `latest` pointed at it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:08d}"
    tmp = folder / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    (tmp / "model.safetensors").write_bytes(save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}))
    opt_tensors, opt_meta = _flatten_optimizer(optimizer.state_dict())
    opt_tensors["__rng_cpu"] = torch.get_rng_state()
    (tmp / "optimizer.safetensors").write_bytes(save(opt_tensors))
    if average is not None:
        (tmp / AVERAGE_FILE).write_bytes(save(average))
    (tmp / "state.json").write_text(json.dumps({"step": step, "optimizer": opt_meta, **extra}))
    final = folder / name
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    write_text_atomic(folder / "latest", name + "\n")
    for old in sorted(folder.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_training_state(folder: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer
                        ) -> dict[str, Any] | None:
    """Restore the latest checkpoint into model and optimizer; its state.json (with "average": the
    weight average's tensors where it holds one, and "path"), or None if none."""
    pointer = Path(folder) / "latest"
    if not pointer.is_file():
        return None
    ckpt = Path(folder) / pointer.read_text().strip()
    try:
        weights = load((ckpt / "model.safetensors").read_bytes())
        opt_tensors = load((ckpt / "optimizer.safetensors").read_bytes())
        state = json.loads((ckpt / "state.json").read_text())
        if (ckpt / AVERAGE_FILE).is_file():
            state["average"] = load((ckpt / AVERAGE_FILE).read_bytes())
    except Exception as exc:
        raise DataError(ckpt, f"unreadable checkpoint ({str(exc).splitlines()[0]})") from None
    mine = model.state_dict()
    differ = [k for k in mine if k not in weights or weights[k].shape != mine[k].shape] + \
        [k for k in weights if k not in mine]
    if differ:
        raise DataError(ckpt, f"the checkpoint holds a model of another shape ({len(differ)} tensors differ, first "
                              f"{differ[0]}): resume with the settings it was trained with, or train without "
                              "--resume")
    model.load_state_dict(weights)
    torch.set_rng_state(opt_tensors.pop("__rng_cpu"))
    optimizer.load_state_dict(_unflatten_optimizer(opt_tensors, state.pop("optimizer")))
    state["path"] = str(ckpt)
    return state
