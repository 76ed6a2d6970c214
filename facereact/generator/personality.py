"""Who the listener is: the personality a personal generator is conditioned on.

REACT 2026's personalised tracks give each listener's Big Five (layout.PERSONALITY_NAMES), read
from the release's 1..5 scale as (v - 1) / 4, so every trait lies in [0, 1]. For a robot the same
five numbers are its character: a reserved listener nods less and later, an expressive one
mirrors every smile. A personality comes as those five values in order, as a mapping of their
names, or not at all (unknown: the generic listener, which a personal model learned too). In a
batch of conversations, a row of NaN is an unknown listener.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from facereact.errors import UsageError
from facereact.layout import PERSONALITY_NAMES

Personality = np.ndarray | Mapping[str, float] | None


def personality_values(personality: Personality) -> np.ndarray | None:
    """(len(PERSONALITY_NAMES),) float32 in [0, 1] from values in order or a mapping of trait names
    (any case), checked; None stays None."""
    if personality is None:
        return None
    if isinstance(personality, Mapping):
        given = {str(k).lower(): v for k, v in personality.items()}
        names = [n.lower() for n in PERSONALITY_NAMES]
        unknown = sorted(set(given) - set(names))
        missing = [n for n in PERSONALITY_NAMES if n.lower() not in given]
        if unknown or missing:
            raise UsageError(f"a personality names the Big Five {list(PERSONALITY_NAMES)}"
                             + (f"; unknown {unknown}" if unknown else "") + (f"; missing {missing}" if missing else ""))
        try:
            personality = [float(given[n]) for n in names]
        except (TypeError, ValueError):
            raise UsageError(f"a personality's traits are numbers in [0, 1], got {dict(personality)}") from None
    try:
        values = np.asarray(personality, dtype=np.float32)
    except (TypeError, ValueError):
        raise UsageError(f"a personality is {len(PERSONALITY_NAMES)} numbers in [0, 1], got {personality!r:.80}") from None
    if values.shape != (len(PERSONALITY_NAMES),):
        raise UsageError(f"a personality is {len(PERSONALITY_NAMES)} values ({', '.join(PERSONALITY_NAMES)}), "
                         f"got shape {values.shape}")
    if not (np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()):
        raise UsageError(f"a personality's traits lie in [0, 1] (the release's 1..5 as (v - 1) / 4), "
                         f"got {[round(float(v), 4) for v in values]}")
    return values


def listener_rows(generator, personality, clips: int) -> torch.Tensor | None:
    """Each conversation's listener vector (clips, 2 width) for `generator` (its listener_condition):
    personality is one per conversation (an array (clips, P) whose NaN rows are unknown, or a list
    of personalities and Nones), a single one for one conversation, or None (every listener
    unknown). None for a generic generator, which refuses a personality."""
    rows = _per_conversation(personality)
    if rows is not None and len(rows) != clips:
        raise UsageError(f"{clips} conversations need {clips} personalities, got {len(rows)}")
    values = [None] * clips if rows is None else [None if _unknown(r) else personality_values(r) for r in rows]
    if not generator.personal:
        if any(v is not None for v in values):
            raise UsageError("this generator is generic: it takes no listener personality (train one with --personal)")
        return None
    width = generator.config.personality
    known = np.array([v is not None for v in values], np.float32)
    table = np.stack([np.zeros(width, np.float32) if v is None else v for v in values])
    with torch.inference_mode():
        return generator.listener_condition(torch.from_numpy(table), torch.from_numpy(known))


def _per_conversation(personality) -> list | None:
    """A list of one personality (or None) per conversation."""
    if personality is None:
        return None
    if isinstance(personality, Mapping):
        return [personality]
    if isinstance(personality, (list, tuple)) and any(p is None or isinstance(p, (Mapping, list, tuple, np.ndarray))
                                                      for p in personality):
        return list(personality)
    values = np.asarray(personality, dtype=np.float32)
    return [values] if values.ndim == 1 else list(values)


def _unknown(personality) -> bool:
    """A row that says nothing: None, or all NaN."""
    if personality is None:
        return True
    if isinstance(personality, Mapping):
        return False
    values = np.asarray(personality, dtype=np.float32)
    return values.size > 0 and bool(np.isnan(values).all())
