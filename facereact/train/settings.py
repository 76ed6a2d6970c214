"""Checks for a model's training settings, so a bad value stops before any work starts."""
from __future__ import annotations

import math
from typing import Any

from facereact.errors import UsageError


def check_settings(settings: Any, weights: tuple[str, ...] = (), shares: tuple[str, ...] = ()) -> None:
    """settings.window at least 2 frames; each of `weights` a finite number >= 0; each of `shares`
    in [0, 1). A ValueError names the field."""
    if settings.window < 2:
        raise UsageError(f"window must be at least 2 frames, got {settings.window}")
    for name in weights:
        value = getattr(settings, name)
        if not math.isfinite(value) or value < 0:
            raise UsageError(f"{name} must be a finite number >= 0, got {value}")
    for name in shares:
        if not 0.0 <= getattr(settings, name) < 1.0:
            raise UsageError(f"{name} must be in [0, 1), got {getattr(settings, name)}")
