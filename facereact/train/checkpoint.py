"""Checkpoints that are safe to load: safetensors tensors plus JSON, written atomically."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load, save

from facereact.data.errors import DataError
from facereact.io import write_bytes_atomic, write_text_atomic

MODEL_FILE, CONFIG_FILE = "model.safetensors", "config.json"


def save_model(out: str | Path, model: torch.nn.Module, config: dict[str, Any]) -> None:
    """`out/model.safetensors` + `out/config.json`: everything needed to rebuild the model."""
    out = Path(out)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    write_bytes_atomic(out / MODEL_FILE, save(state))
    write_text_atomic(out / CONFIG_FILE, json.dumps(config, indent=2) + "\n")


def load_model_files(folder: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    folder = Path(folder)
    for name in (MODEL_FILE, CONFIG_FILE):
        if not (folder / name).is_file():
            raise DataError(folder / name, "missing: not a facereact model folder")
    try:
        state = load((folder / MODEL_FILE).read_bytes())
        config = json.loads((folder / CONFIG_FILE).read_text())
    except Exception as exc:
        raise DataError(folder, f"unreadable model files ({exc})") from None
    return state, config


def load_weights(model: torch.nn.Module, state: dict[str, torch.Tensor], folder: str | Path) -> None:
    """Strictly load a model folder's weights; a mismatch (a folder saved by another version of the
    model) is a clear error naming the folder, not torch's traceback."""
    what = f"weights do not fit this version's {type(model).__name__}"
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # a tensor of another shape
        raise DataError(Path(folder) / MODEL_FILE, f"{what} ({str(exc).splitlines()[-1].strip()}): retrain it") from None
    if result.missing_keys or result.unexpected_keys:
        missing, unexpected = result.missing_keys[:3], result.unexpected_keys[:3]
        raise DataError(Path(folder) / MODEL_FILE, f"{what} (missing {missing}, unexpected {unexpected}): retrain it")


def model_kind(folder: str | Path) -> str:
    """The "kind" a saved model folder declares (tokenizer, generator, trans_vae, belfusion)."""
    config = Path(folder) / CONFIG_FILE
    if not config.is_file():
        raise DataError(config, "missing: not a facereact model folder")
    try:
        return str(json.loads(config.read_text()).get("kind", ""))
    except (json.JSONDecodeError, AttributeError) as exc:
        raise DataError(config, f"unreadable model config ({exc})") from None


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


def save_training_state(folder: str | Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                        extra: dict[str, Any], keep: int = 2) -> Path:
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
    (tmp / "state.json").write_text(json.dumps({"step": step, "optimizer": opt_meta, **extra}))
    final = folder / name
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    write_text_atomic(folder / "latest", name + "\n")
    for old in sorted(folder.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_training_state(folder: str | Path, model: torch.nn.Module,
                        optimizer: torch.optim.Optimizer) -> dict[str, Any] | None:
    """Restore the latest checkpoint into model and optimizer; its state.json, or None if none."""
    pointer = Path(folder) / "latest"
    if not pointer.is_file():
        return None
    ckpt = Path(folder) / pointer.read_text().strip()
    try:
        model.load_state_dict(load((ckpt / "model.safetensors").read_bytes()))
        opt_tensors = load((ckpt / "optimizer.safetensors").read_bytes())
        state = json.loads((ckpt / "state.json").read_text())
    except Exception as exc:
        raise DataError(ckpt, f"unreadable checkpoint ({exc})") from None
    torch.set_rng_state(opt_tensors.pop("__rng_cpu"))
    optimizer.load_state_dict(_unflatten_optimizer(opt_tensors, state.pop("optimizer")))
    return state
