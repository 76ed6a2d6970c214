"""Personality tables: each person's Big Five (layout.PERSONALITY_NAMES) on the 1..5 scale of
REACT 2026's release, read as (v - 1) / 4 so every trait lies in [0, 1].

MARS 2026 gives one csv per split and role (`personality/{speaker,listener}.csv`, keyed by
`video_name`). A REACT 2024-layout corpus may carry our own `<split>/personality.csv` keyed by
`person` (`site/session/person`, as in the split csv's paths): the synthetic corpora write it, so
a generator of 25 fps MFCC audio can be made personal and serve live (docs/data.md).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from facereact.errors import DataError
from facereact.layout import PERSONALITY_NAMES

PERSONALITY_FILE = "personality.csv"  # a REACT 2024-layout split's (ours)
PERSON_COLUMN = "person"


def load_personality(path: Path, key: str = "video_name") -> dict[str, np.ndarray]:
    """{row's `key`: (5,) Big Five in [0, 1]} from a personality csv (1..5 in the file)."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            columns = reader.fieldnames or []
            rows = list(reader)
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(path, f"unreadable csv ({exc})") from None
    missing = [c for c in (key, *PERSONALITY_NAMES) if c not in columns]
    if missing:
        raise DataError(path, f"missing columns {missing}; it has {columns}")
    out = {}
    for i, row in enumerate(rows, start=2):
        try:
            values = np.array([float(row[c]) for c in PERSONALITY_NAMES], np.float32)
        except (TypeError, ValueError):
            raise DataError(path, f"row {i}: non-numeric trait in {[row[c] for c in PERSONALITY_NAMES]}") from None
        if not (np.isfinite(values).all() and ((values >= 1) & (values <= 5)).all()):
            raise DataError(path, f"row {i}: traits {values.tolist()} outside 1..5")
        out[row[key]] = (values - 1) / 4
    return out


def personality_input(personality: np.ndarray | None, known: bool = True) -> tuple[np.ndarray, np.float32]:
    """A personal model's listener input: the personality (zeros where not given, or withheld: `known`
    False) and whether it is known, as training batches carry them."""
    if personality is None or not known:
        return np.zeros(len(PERSONALITY_NAMES), np.float32), np.float32(0.0)
    return np.asarray(personality, np.float32), np.float32(1.0)


def write_personality(path: Path, key: str, table: dict[str, np.ndarray]) -> None:
    """A personality csv of {key value: (5,) traits on 1..5}, rows sorted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([key, *PERSONALITY_NAMES])
        writer.writerows([name, *(f"{v:.3f}" for v in traits)] for name, traits in sorted(table.items()))
