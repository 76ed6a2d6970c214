"""Model folders that are safe to load: safetensors weights plus a JSON config, written atomically.

What inference needs to read a trained model; training's own state (optimizer, step) is
train/checkpoint.py's."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors.torch import load, save

from facereact.errors import DataError, UsageError
from facereact.io import write_bytes_atomic, write_text_atomic

MODEL_FILE, CONFIG_FILE = "model.safetensors", "config.json"
# The format of each kind of model folder, written into every config.json. Bump a kind's when a
# saved model's meaning changes; loading refuses other formats instead of carrying code paths for
# folders saved before an option existed.
# 2: the tokenizer always reads the emotion off the decoded face, attention always has the offset
# bias, quantizers name their levels, and loss settings left the model configs.
# 3 (generators): the speaker's face and emotion enter apart, each with a learned "absent" vector.
FORMATS = {"tokenizer": 2, "generator": 3, "trans_vae": 2, "belfusion": 2}

C = TypeVar("C")


def save_model(out: str | Path, model: torch.nn.Module, kind: str, config: dict[str, Any]) -> None:
    """`out/model.safetensors` + `out/config.json` (kind, format, then `config`): everything needed
    to rebuild the model."""
    out = Path(out)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    write_bytes_atomic(out / MODEL_FILE, save(state))
    write_text_atomic(out / CONFIG_FILE, json.dumps({"kind": kind, "format": FORMATS[kind], **config}, indent=2)
                      + "\n")


def read_json(path: Path, missing: str, what: str) -> Any:
    """A JSON file facereact wrote (a model's config, an export's interface): absent or unreadable
    is a DataError naming it, saying `missing` or "unreadable `what`"."""
    if not path.is_file():
        raise DataError(path, missing)
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(path, f"unreadable {what} ({exc})") from None


def read_config(folder: str | Path, kind: str | tuple[str, ...] | None = None) -> dict[str, Any]:
    """A model folder's config.json, checked: a facereact folder of this format (and of `kind`)."""
    path = Path(folder) / CONFIG_FILE
    config = read_json(path, "missing: not a facereact model folder", "model config")
    if not isinstance(config, dict) or "kind" not in config:
        raise DataError(path, "not a facereact model config (no 'kind')")
    if config["kind"] not in FORMATS:
        raise DataError(path, f"unknown model kind {config['kind']!r} (facereact knows {', '.join(FORMATS)})")
    if config.get("format") != FORMATS[config["kind"]]:
        raise DataError(path, f"a {config['kind']} saved in model format {config.get('format', 1)}; this facereact "
                              f"reads format {FORMATS[config['kind']]}: retrain the model")
    wanted = (kind,) if isinstance(kind, str) else kind
    if wanted and config["kind"] not in wanted:
        raise DataError(path, f"a {config['kind']} folder, where a {' or '.join(wanted)} folder is needed")
    return config


def load_model_files(folder: str | Path, kind: str | tuple[str, ...] | None = None
                     ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    folder = Path(folder)
    config = read_config(folder, kind)
    if not (folder / MODEL_FILE).is_file():
        raise DataError(folder / MODEL_FILE, "missing: not a facereact model folder")
    try:
        state = load((folder / MODEL_FILE).read_bytes())
    except Exception as exc:
        raise DataError(folder / MODEL_FILE, f"unreadable weights ({exc})") from None
    return state, config


def config_from_dict(cls: type[C], values: Any, source: str | Path) -> C:
    """A config dataclass from saved JSON: unknown fields, wrong types and lists where a tuple is due
    are a DataError naming the file, not a TypeError from deep inside."""
    if not isinstance(values, dict):
        raise DataError(source, f"{cls.__name__} must be a JSON object, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise DataError(source, f"unknown {cls.__name__} field(s) {unknown}")
    hints = typing.get_type_hints(cls)
    out = {}
    for name, value in values.items():
        hint = hints[name]
        origin = typing.get_origin(hint)
        if origin is tuple and isinstance(value, list):
            value = tuple(value)
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = config_from_dict(hint, value, source)
        if not _fits(value, hint):
            raise DataError(source, f"{cls.__name__}.{name} = {value!r} is not a {hint}")
        out[name] = value
    try:
        return cls(**out)
    except UsageError as exc:  # a config's own checks (__post_init__) on values read from a file
        raise DataError(source, str(exc)) from None


def _fits(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint in (int, str, bool):
        return isinstance(value, hint) and (hint is bool or not isinstance(value, bool))
    if dataclasses.is_dataclass(hint):
        return isinstance(value, hint)
    if origin in (tuple, list):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return isinstance(value, origin) and all(_fits(v, args[0]) for v in value) if args else isinstance(value, origin)
    return True


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


def folder_fingerprint(folder: str | Path) -> str:
    """A hex digest of the model files under a model folder (a generator's tokenizer copy included;
    training checkpoints left out): equal for equal models, whatever the folder is called."""
    folder = Path(folder)
    digest = hashlib.sha256()
    model_files = (p for p in folder.rglob("*") if p.is_file() and p.name in (MODEL_FILE, CONFIG_FILE)
                   and "checkpoints" not in p.relative_to(folder).parts)
    for path in sorted(model_files):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def model_kind(folder: str | Path) -> str:
    """The "kind" a saved model folder declares (tokenizer, generator, trans_vae, belfusion)."""
    return str(read_config(folder)["kind"])
