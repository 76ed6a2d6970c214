"""Plots the demo writes (matplotlib, no display needed)."""
from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from facereact.errors import UsageError
from facereact.layout import (AFFECT_NAMES, AU, AU_NAMES, EMOTION_DIM, EXPRESSION, EXPRESSION_NAMES,  # noqa: E402
                              FPS, emotion_index, face_index)


def plot_reconstruction(face: np.ndarray, decoded: np.ndarray, blocks: np.ndarray, out: str | Path,
                        channels: tuple[str, ...] = ("mouthSmileLeft", "browInnerUp", "jawOpen", "pitch")) -> None:
    """Real vs tokenized-and-decoded channels of one clip, whole-clip and block-wise decoding."""
    t = np.arange(len(face)) / FPS
    fig, axes = plt.subplots(len(channels), 1, figsize=(10, 2 * len(channels)), sharex=True)
    for ax, name in zip(axes, channels):
        i = face_index(name)
        ax.plot(t, face[:, i], color="black", lw=1.2, label="real")
        ax.plot(t, decoded[:, i], color="tab:blue", lw=1, label="decoded, whole clip")
        ax.plot(t, blocks[:, i], color="tab:red", lw=0.8, alpha=0.7, label="decoded, 32-frame blocks")
        ax.set_ylabel(name)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def plot_token_usage(tokens: np.ndarray, vocab: int, out: str | Path) -> None:
    counts = np.sort(np.bincount(tokens.reshape(-1), minlength=vocab))[::-1]
    used = counts[counts > 0]
    fig, ax = plt.subplots(figsize=(8, 3))
    # One filled curve, not a bar per token: 390 625 bars took three minutes to draw (and half a
    # minute to free at exit) in the demo.
    ax.fill_between(np.arange(len(used)), used, step="post", linewidth=0)
    ax.set_xlim(0, max(len(used), 1))
    ax.set_yscale("log")
    ax.set_xlabel("tokens, most used first")
    ax.set_ylabel("frames")
    ax.set_title(f"token usage: {np.count_nonzero(counts)} of {vocab} used")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def plot_training_curve(log_csv: str | Path, out: str | Path, keys: tuple[str, ...] = ("loss",)) -> None:
    with open(log_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    fig, ax = plt.subplots(figsize=(8, 3))
    for key in keys:
        pts = [(float(r["step"]), float(r[key])) for r in rows if r.get(key)]
        if pts:
            ax.plot(*zip(*pts), label=key)
    ax.set_xlabel("step")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def plot_emotions(tracks: list[tuple[str, np.ndarray]], out: str | Path) -> None:
    """Emotion of several people on one time axis: per track an AU and expression raster, then
    valence and arousal curves of all tracks overlaid."""
    for label, e in tracks:
        if e.ndim != 2 or e.shape[1] != EMOTION_DIM:
            raise UsageError(f"{label}: emotion is (T, {EMOTION_DIM}), got shape {e.shape}")
    frames = min(len(e) for _, e in tracks)
    seconds = frames / FPS
    ratios = [len(AU_NAMES) + len(EXPRESSION_NAMES)] * len(tracks) + [8, 8]
    fig, axes = plt.subplots(len(tracks) + 2, 1, figsize=(11, 1.6 * len(tracks) + 3.6), sharex=True,
                             gridspec_kw={"height_ratios": ratios})
    ticks = list(AU_NAMES) + list(EXPRESSION_NAMES)
    for ax, (label, e) in zip(axes, tracks):
        raster = np.concatenate([e[:frames, AU], e[:frames, EXPRESSION]], axis=1).T
        ax.imshow(raster, aspect="auto", interpolation="nearest", cmap="magma", vmin=0, vmax=1,
                  extent=(0, seconds, len(ticks) - 0.5, -0.5))
        ax.axhline(len(AU_NAMES) - 0.5, color="white", lw=0.8)
        ax.set_yticks(range(0, len(ticks), 3), ticks[::3], fontsize=6)
        ax.set_ylabel(label, fontsize=8)
    t = np.arange(frames) / FPS
    for ax, name in zip(axes[len(tracks):], AFFECT_NAMES):
        for label, e in tracks:
            ax.plot(t, e[:frames, emotion_index(name)], lw=0.9, label=label)
        ax.set_ylabel(name)
    axes[len(tracks)].legend(loc="upper right", fontsize=7, ncol=len(tracks))
    axes[-1].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def plot_behaviour_curves(curves: dict[str, dict], out: str | Path, reference: str = "GroundTruth",
                          skip: tuple[str, ...] = ("Random", "MeanSeq", "MeanFr")) -> None:
    """Each reaction's event-locked response (metrics/behaviour.py) of every system in `curves`
    (name -> behaviour() figures) but `skip`, the real listeners (`reference`) in black: when each
    listener reacts after the speaker's events, and how much more than at any moment."""
    from facereact.metrics.behaviour import REACTIONS

    shown = {name: figures for name, figures in curves.items() if name not in skip}
    fig, axes = plt.subplots(1, len(REACTIONS), figsize=(3.2 * len(REACTIONS), 3.2), sharex=True)
    for ax, (key, reaction) in zip(axes, REACTIONS.items()):
        for name, figures in shown.items():
            response = figures["reactions"][key]
            if response["curve"] is None:
                continue
            real = name == reference
            ax.plot(response["curve_s"], response["curve"], color="black" if real else None,
                    lw=2.0 if real else 1.0, label="real listeners" if real else name, zorder=3 if real else 2)
        ax.axhline(1.0, color="grey", lw=0.6, ls=":")
        ax.axvline(0.0, color="grey", lw=0.6)
        ax.axvspan(*reaction.window_s, color="tab:green", alpha=0.06)
        ax.set_title(reaction.label, fontsize=9)
        ax.set_xlabel(f"seconds after the speaker's {reaction.event.replace('_', ' ')}", fontsize=8)
    axes[0].set_ylabel("activity / its clip mean")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=7)
    fig.tight_layout(rect=(0, 0.06 * (1 + (len(labels) - 1) // 4), 1, 1))
    fig.savefig(out, dpi=90)
    plt.close(fig)
