"""A trained baseline's folder: which model it holds, loaded, and its name in a table."""
from __future__ import annotations

from pathlib import Path

from facereact.baselines import belfusion, trans_vae
from facereact.baselines.belfusion import BeLFusion
from facereact.baselines.trans_vae import TransVAE
from facereact.errors import DataError
from facereact.model_files import model_kind

BASELINE_KINDS = {trans_vae.KIND: TransVAE, belfusion.KIND: BeLFusion}


def load_baseline(folder: str | Path) -> TransVAE | BeLFusion:
    kind = model_kind(folder)
    if kind not in BASELINE_KINDS:
        raise DataError(Path(folder) / "config.json",
                        f"kind '{kind}' is not a trained baseline ({', '.join(BASELINE_KINDS)})")
    return BASELINE_KINDS[kind].load(folder)


def baseline_name(model: TransVAE | BeLFusion, folder: Path) -> str:
    setting = "online" if model.config.online else "offline"
    if isinstance(model, TransVAE):
        return f"Trans-VAE ({setting}, {folder.name})"
    extra = (", binarized AUs" if model.config.binarize_aus else "") + (", personal shifts" if model.personal else "")
    return f"BeLFusion (k={model.config.best_of}, {setting}{extra}, {folder.name})"
