"""Shared by every figure family: parameter labels, model colours, footnotes, saving."""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from gear.errors import ConfigError, DataError
from gear.io import atomic_path
from gear.parameters import Parameter

__all__ = [
    "INTERVAL_LEVEL",
    "MAX_ISOMAP_COLUMNS",
    "parameter_label",
    "require_columns",
    "short_reason",
    "model_colors",
    "add_footnote",
    "save_figure",
]


#: Confidence level of the intervals and tie tests shown, for legends and footnotes.
INTERVAL_LEVEL = 0.95


#: Parameters per band of Figure 3; more parameters wrap into further bands.
MAX_ISOMAP_COLUMNS = 4


_SAVE_DPI = 150


_SAVE_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}


def parameter_label(parameter: Parameter | str) -> str:
    """Label of a synthesis parameter for titles and axis labels.

    Parameters
    ----------
    parameter : Parameter or str
        A parameter (its declared ``label``, matplotlib mathtext allowed)
        or a plain name.

    Returns
    -------
    label : str
    """
    return parameter.label if isinstance(parameter, Parameter) else str(parameter)


def require_columns(table: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(f"{name} lacks column(s) {missing}; it has {list(table.columns)}")


def short_reason(reason: str, width: int = 100) -> str:
    """The gist of why a model is unavailable, on one line of a figure.

    Drops the prefixes that name the model and the exception type (the row
    already names the model) and keeps the first sentence, shortened to
    ``width`` characters; the full reason is in ``results/models/``.

    Parameters
    ----------
    reason : str
    width : int

    Returns
    -------
    gist : str
    """
    gist = " ".join(reason.split())
    # Nested messages: "model 'x': loading failed: ModelError: x: ...".
    prefix = re.compile(r"^(model '[^']*'|loading failed|[A-Za-z]*Error|[\w.-]+):\s")
    while prefix.match(gist):
        gist = prefix.sub("", gist, count=1)
    sentence = re.split(r"(?<=[.;])\s", gist, maxsplit=1)[0]
    return textwrap.shorten(sentence, width=width, placeholder=" ...")


def model_colors(models: Sequence[str]) -> dict[str, tuple]:
    """One distinct colour per model, the same in every panel.

    Parameters
    ----------
    models : sequence of str
        Model ids in display order.

    Returns
    -------
    colors : dict {str: (r, g, b, a)}
        ``tab10`` for up to 10 models, ``tab20`` up to 20, then ``turbo``
        sampled evenly.
    """
    models = list(dict.fromkeys(models))
    n = len(models)
    if n <= 10:
        colors = colormaps["tab10"].colors[:n]
    elif n <= 20:
        colors = colormaps["tab20"].colors[:n]
    else:
        colors = colormaps["turbo"](np.linspace(0.05, 0.95, n))
    return {model: tuple(float(c) for c in color) for model, color in zip(models, colors)}


def add_footnote(figure: Figure, text: str, fontsize: float = 8) -> None:
    """A left-aligned note at the foot of a constrained-layout figure, wrapped to its width."""
    width = max(int(figure.get_figwidth() * 72 / (0.52 * fontsize)) - 4, 30)
    figure.supxlabel(textwrap.fill(text, width), x=0.01, ha="left", fontsize=fontsize, color="0.25")


def save_figure(fig: Figure, paths: str | os.PathLike | Iterable[str | os.PathLike]) -> None:
    """Write a figure to one or several files, atomically.

    Each file is first written to a hidden temporary file with the same
    suffix in the destination directory, then renamed over the target,
    so an interrupted job never leaves a truncated figure behind.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    paths : path or iterable of paths
        Destinations; the suffix (``.png``, ``.pdf`` or ``.svg``) sets the
        format. PNG is rendered at 150 dpi. Parent directories are
        created.

    Raises
    ------
    ConfigError
        If a suffix is not supported (checked before anything is written).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    for path in paths:
        if path.suffix.lower() not in _SAVE_FORMATS:
            raise ConfigError(
                f"cannot save figure to {path}: suffix must be one of" f" {sorted(_SAVE_FORMATS)}"
            )
    for path in paths:
        fmt = _SAVE_FORMATS[path.suffix.lower()]
        # atomic_path also removes the temporaries a killed job left for this figure.
        with atomic_path(path) as tmp:
            # No creation date: identical inputs give identical PDFs.
            metadata = {"CreationDate": None} if fmt == "pdf" else None
            fig.savefig(tmp, format=fmt, dpi=_SAVE_DPI, metadata=metadata)
