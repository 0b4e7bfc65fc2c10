# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Hooks for MMEngine's runner."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmengine.dist import master_only
from mmengine.hooks import Hook

from mmconvmlp.registry import HOOKS


@HOOKS.register_module()
class LossCurveHook(Hook):
    """Save a plot of the training losses against the iteration as a PNG.

    The image is (re)written every ``interval`` iterations and at the end of
    training, in the run's work directory, so a run can be followed while it
    goes. In a config::

        custom_hooks = [dict(type='mmconvmlp.LossCurveHook')]

    Args:
        out_file (str): File name, relative to ``runner.work_dir`` unless
            absolute. Defaults to ``'loss_curve.png'``.
        keys (Sequence[str], optional): Loss entries to plot, e.g.
            ``['loss', 'loss_cls']``. None plots every entry whose name starts
            with ``loss``. Defaults to None.
        interval (int): Iterations between two redraws; 0 draws at the end of
            training only. Defaults to 0.
        smooth (int): Width (iterations) of the moving average drawn over the
            raw values; 1 draws the raw values only. Defaults to 10.

    Raises:
        ImportError: matplotlib is not installed (when the plot is drawn).
    """

    priority = 'LOW'

    def __init__(self,
                 out_file: str = 'loss_curve.png',
                 keys: Optional[Sequence[str]] = None,
                 interval: int = 0,
                 smooth: int = 10) -> None:
        if interval < 0 or smooth < 1:
            raise ValueError(
                f'LossCurveHook: interval must be >= 0 and smooth >= 1, got '
                f'{interval} and {smooth}')
        self.out_file = out_file
        self.keys = list(keys) if keys is not None else None
        self.interval = interval
        self.smooth = smooth
        self.history: Dict[str, List[float]] = {}
        self.iters: Dict[str, List[int]] = {}

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        for key, value in (outputs or {}).items():
            wanted = (
                key in self.keys
                if self.keys is not None else key.startswith('loss'))
            if wanted:
                if hasattr(value, 'detach'):
                    value = value.detach()
                self.history.setdefault(key, []).append(float(value))
                self.iters.setdefault(key, []).append(runner.iter + 1)
        if self.interval and self.every_n_train_iters(runner, self.interval):
            self.plot(runner)

    def after_train(self, runner) -> None:
        self.plot(runner)

    @master_only
    def plot(self, runner) -> Optional[str]:
        """Draw the losses recorded so far.

        Returns:
            str | None: Path of the PNG, None when nothing was recorded yet.
        """
        if not self.history:
            return None
        from mmconvmlp.utils.curves import draw_curve, new_figure
        fig, plt, ax = new_figure()
        for key, values in self.history.items():
            draw_curve(ax, self.iters[key], values, key, self.smooth)
        ax.set_xlabel('iteration')
        ax.set_ylabel('loss')
        ax.set_yscale('log')
        ax.set_title(osp.basename(osp.normpath(runner.work_dir)))
        ax.grid(True, which='both', alpha=0.3)
        ax.legend()
        fig.tight_layout()
        out = self.out_file if osp.isabs(self.out_file) else osp.join(
            runner.work_dir, self.out_file)
        fig.savefig(out, dpi=100)
        plt.close(fig)
        return out
