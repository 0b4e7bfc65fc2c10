# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Training curves from MMEngine's logs, drawn with matplotlib.

MMEngine's ``LoggerHook`` appends one JSON object per line to
``<work_dir>/<timestamp>/vis_data/scalars.json``: training lines hold the
losses, ``lr``, ``time``..., ``iter`` (1-based) and ``step``; validation
lines hold the metrics (``coco/bbox_mAP``, ``mIoU``, ...) and a ``step``
that is the epoch (epoch-based runs) or the iteration. :func:`load_scalars`
puts every value on the iteration axis; :func:`plot_runs` draws several work
directories into one picture (``tools/analysis_tools/plot_curves.py``), and
:func:`draw_curve` is the curve style shared with
:class:`mmconvmlp.LossCurveHook`.
"""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .checks import ToolError

#: key -> (iterations, values), iterations increasing.
Scalars = Dict[str, Tuple[List[int], List[float]]]

#: Metrics plotted by default when a log has them (COCO boxes, masks, mIoU).
DEFAULT_METRICS = ('coco/bbox_mAP', 'coco/segm_mAP', 'mIoU')
# Bookkeeping entries of every line, never curves.
_NOT_CURVES = {'step', 'iter', 'epoch'}


def find_scalars(path: str) -> List[str]:
    """The MMEngine scalar logs of a work directory, oldest run first.

    Args:
        path (str): A work directory (``<path>/*/vis_data/scalars.json``:
            one per run, a resumed run adds one), or one JSON log file.

    Returns:
        list[str]: The log files, in timestamp order.

    Raises:
        ToolError: No log file there.
    """
    if osp.isfile(path):
        return [path]
    files = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise ToolError(
            f'no MMEngine log in {path}: expected '
            f'{osp.join(path, "<timestamp>", "vis_data", "scalars.json")}')
    return files


def load_scalars(path: str) -> Scalars:
    """Every scalar of a work directory's logs, against the iteration.

    A validation line (no ``iter`` entry) is placed at the iteration of the
    training line before it, which is where the runner validated; without
    one (a test-only log) at its ``step``. Runs are read oldest first; a
    resumed run that logs an iteration again replaces the earlier value.

    Args:
        path (str): A work directory or a JSON log file (see
            :func:`find_scalars`).

    Returns:
        dict[str, tuple[list[int], list[float]]]: Per key, iterations
        (increasing) and values.

    Raises:
        ToolError: No log there, or a line that is not JSON.
    """
    series: Dict[str, Dict[int, float]] = {}
    for file in find_scalars(path):
        last_iter = None
        with open(file) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ToolError(f'{file}, line {n}: not JSON ({e})') from e
                if 'iter' in record:
                    last_iter = int(record['iter'])
                    x = last_iter
                else:
                    x = last_iter if last_iter is not None else int(
                        record.get('step', 0))
                for key, value in record.items():
                    if key not in _NOT_CURVES and _is_number(value):
                        series.setdefault(key, {})[x] = float(value)
    return {
        key: (sorted(points), [points[i] for i in sorted(points)])
        for key, points in series.items()
    }


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def default_keys(runs: Sequence[Scalars]) -> List[str]:
    """``loss`` and the usual metrics, those that some run has."""
    return [
        k for k in ('loss', ) + DEFAULT_METRICS
        if any(k in run for run in runs)
    ]


def draw_curve(ax,
               x: Sequence[float],
               y: Sequence[float],
               label: str,
               smooth: int = 1,
               color=None):
    """One curve: the raw values, and over them their moving average.

    With ``smooth > 1`` (and at least that many values) the raw values are a
    thin, light line and the mean of every ``smooth`` consecutive values a
    bold one, labelled ``"<label> (mean of <smooth>)"``; otherwise the raw
    values are drawn bold (with markers when there are few of them).

    Args:
        ax (matplotlib.axes.Axes): Where to draw.
        x, y (Sequence[float]): The points.
        label (str): Legend entry.
        smooth (int): Moving-average width in points, >= 1. Defaults to 1.
        color (optional): A matplotlib colour; None takes the next one.

    Returns:
        The colour used.
    """
    if len(y) >= smooth > 1:
        line, = ax.plot(x, y, lw=0.8, alpha=0.35, color=color)
        kernel = np.ones(smooth) / smooth
        ax.plot(
            x[smooth - 1:],
            np.convolve(y, kernel, mode='valid'),
            color=line.get_color(),
            lw=1.8,
            label=f'{label} (mean of {smooth})')
    else:
        line, = ax.plot(
            x,
            y,
            lw=1.5,
            color=color,
            label=label,
            marker='o' if len(y) <= 30 else None,
            ms=3)
    return line.get_color()


def new_figure(rows: int = 1, cols: int = 1, size=(8, 5)):
    """A matplotlib figure for files (Agg backend: no display needed).

    Returns:
        tuple: ``(figure, pyplot module, axes)``; axes is an array when
        there are several.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False)
    return fig, plt, axes if rows * cols > 1 else axes[0, 0]


def plot_runs(runs: Dict[str, Scalars],
              keys: Sequence[str],
              out: str,
              smooth: int = 1,
              title: Optional[str] = None) -> str:
    """Compare runs: one panel per key, one curve per run, against the
    iteration; losses (keys starting with ``loss``) on a log scale.

    Args:
        runs (dict[str, Scalars]): Legend label -> :func:`load_scalars`.
        keys (Sequence[str]): What to draw, e.g. ``['loss',
            'coco/bbox_mAP']``.
        out (str): The picture (.png, .jpg, .pdf, .svg: by its ending).
        smooth (int): Moving-average width for losses, >= 1 (metrics are
            drawn raw). Defaults to 1.
        title (str, optional): Above the panels.

    Returns:
        str: ``out``.

    Raises:
        ToolError: A key that no run has (the message lists those there
            are), or ``smooth`` < 1.
    """
    if smooth < 1:
        raise ToolError(f'--smooth must be at least 1, got {smooth}')
    for key in keys:
        if not any(key in run for run in runs.values()):
            have = sorted({k for run in runs.values() for k in run})
            raise ToolError(f'no run logged {key!r}; the logs have: '
                            f'{", ".join(have)}')
    fig, plt, axes = new_figure(1, len(keys), size=(6.5 * len(keys), 4.5))
    axes = np.atleast_1d(axes).ravel()
    for ax, key in zip(axes, keys):
        is_loss = key.startswith('loss')
        for label, run in runs.items():
            if key in run:
                x, y = run[key]
                draw_curve(ax, x, y, label, smooth if is_loss else 1)
        ax.set_xlabel('iteration')
        ax.set_ylabel(key)
        ax.set_title(key)
        if is_loss:
            ax.set_yscale('log')
        ax.grid(True, which='both', alpha=0.3)
        ax.legend(fontsize='small')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
