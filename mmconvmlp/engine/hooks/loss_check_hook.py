# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Stop training at the first non-finite loss, naming the term and images."""
import math

from mmdet.engine.hooks import CheckInvalidLossHook

from mmconvmlp.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """A loss term was NaN or infinite; the message names it and the batch."""


@HOOKS.register_module()
class LossCheckHook(CheckInvalidLossHook):
    """MMDetection's ``CheckInvalidLossHook`` that names what went wrong.

    The stock hook asserts that the total loss is finite every ``interval``
    iterations and says nothing more. This one checks every term that the
    model logged (``loss_cls``, ``loss_bbox``, ``loss_mask``, ``decode.
    loss_ce``...), by default at every iteration, and stops the run at the
    first non-finite one with the terms and the images of the batch (their
    ``img_path``), also written to the run's log. It runs before the
    checkpoint hook, so no checkpoint of NaN weights is written. Works for
    MMDetection and MMSegmentation models alike; the project's configs name
    it::

        custom_hooks = [dict(type='mmconvmlp.LossCheckHook')]

    Args:
        interval (int): Check every ``interval`` training iterations.
            Default 1.

    Raises:
        NonFiniteLossError: (after a training iteration) a logged loss is
            NaN or infinite.
    """

    priority = 'VERY_HIGH'

    def __init__(self, interval: int = 1) -> None:
        super().__init__(interval=interval)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        values = {  # tensors (MMSegmentation keeps their graph) or floats
            key: float(getattr(value, 'detach', lambda: value)())
            for key, value in outputs.items() if 'loss' in key
        }
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if not bad:
            return
        # the terms that made the total non-finite, or the total alone
        bad = {k: v for k, v in bad.items() if k != 'loss'} or bad
        samples = (data_batch or {}).get('data_samples') or []
        images = [s.metainfo.get('img_path', '?') for s in samples]
        message = (f'iteration {runner.iter + 1}: non-finite loss ' +
                   ', '.join(f'{k}={v}' for k, v in bad.items()) +
                   '; the batch: ' + (', '.join(images) or 'unknown'))
        runner.logger.error(message)
        raise NonFiniteLossError(message)
