# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Make a resumed run draw the same random numbers as an uninterrupted one.

MMEngine's ``Runner.resume`` restores the weights, the optimizer, the
schedulers and the seed, but not the states of the generators: Python's
``random``, numpy's global generator (mmcv's and mmdet's random transforms,
e.g. ``RandomFlip``) and torch's (``DropPath``, the data loader's base
seed). A resumed run therefore augments and drops differently from the run
it continues.
"""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook

from mmconvmlp.registry import HOOKS

#: Where the states are kept in ``checkpoint['meta']``.
META_KEY = 'generator_states'


def get_generator_states() -> dict:
    """The global generator states, in types weights-only loading reads.

    Returns:
        dict: ``python`` (``random.getstate()``), ``numpy`` (the MT19937
        state with its key as a list of ints), ``torch`` (CPU generator,
        uint8 tensor) and, with CUDA, ``cuda`` (one tensor per device).
    """
    np_state = np.random.get_state(legacy=False)
    states = dict(
        python=random.getstate(),
        numpy=dict(
            bit_generator=str(np_state['bit_generator']),
            key=[int(k) for k in np_state['state']['key']],
            pos=int(np_state['state']['pos']),
            has_gauss=int(np_state['has_gauss']),
            gauss=float(np_state['gauss'])),
        torch=torch.get_rng_state())
    if torch.cuda.is_available():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_generator_states(states: dict) -> None:
    """Restore what :func:`get_generator_states` returned."""
    version, internal, gauss = states['python']
    random.setstate((version, tuple(internal), gauss))
    np_state = states['numpy']
    np.random.set_state(
        dict(
            bit_generator=np_state['bit_generator'],
            state=dict(
                key=np.asarray(np_state['key'], dtype=np.uint32),
                pos=np_state['pos']),
            has_gauss=np_state['has_gauss'],
            gauss=np_state['gauss']))
    torch.set_rng_state(states['torch'])
    cuda = states.get('cuda')
    if cuda and torch.cuda.is_available() \
            and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


class _RestoreAfter:
    """Iterator wrapper that calls ``restore`` once ``skip`` items passed.

    The one place the hook goes beyond MMEngine's hook points, because no
    hook point lies where the states must be restored: ``IterBasedTrainLoop``
    resumes by drawing the batches already trained on (which runs their
    random transforms) after ``before_train_epoch``, and draws each batch
    before ``before_train_iter``. Wrapping the loop's
    ``dataloader_iterator`` restores the states right before the first new
    batch is drawn.
    """

    def __init__(self, iterator, skip: int, restore) -> None:
        self._iterator, self._left, self._restore = iterator, skip, restore

    def __iter__(self):
        return self

    def __next__(self):
        item = next(self._iterator)
        self._left -= 1
        if self._left == 0:
            self._restore()
        return item

    def __getattr__(self, name):
        return getattr(self._iterator, name)


@HOOKS.register_module()
class ResumeStateHook(Hook):
    """Save the generator states with each checkpoint; restore them on resume.

    With a fixed seed (``randomness=dict(seed=...)``) and
    ``deterministic=True`` a run killed at any moment and resumed from its
    last checkpoint ends with the same weights, on the CPU, as a run that
    was never interrupted (unless it validated right after that checkpoint,
    see below). ``tools/train.py`` adds this hook to every run;
    in a config of your own::

        custom_hooks = [dict(type='mmconvmlp.ResumeStateHook')]

    What it does, at MMEngine's hook points:

    - ``before_save_checkpoint``: stores Python's, numpy's and torch's
      generator states and the train sampler's seed in
      ``checkpoint['meta']['generator_states']`` (see
      :func:`get_generator_states`);
    - ``after_load_checkpoint`` and ``before_train``: when the run resumed
      from such a checkpoint (its epoch and iteration are the runner's),
      sets the sampler's seed back; the generator states are restored at
      the first ``before_train_epoch`` (epoch-based loops), or right after
      an iteration-based loop has skipped the batches already trained on
      (see ``_RestoreAfter``, the one adapter).

    The hook changes nothing in a run that is not resumed: validation draws
    from the generators as it does without the hook. The states stored are
    those at the checkpoint, so when the interrupted run validated right
    after saving (validation's data loader draws its seed from torch's
    generator), the resumed run, which does not validate there again,
    continues from the states before that validation; the log says so.

    Not restored: the generators of data loader worker processes (exact
    with ``num_workers=0`` or non-persistent workers, which are seeded
    afresh each epoch), and the states of other ranks in distributed runs
    (only rank 0 writes checkpoints; nothing is restored there).
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._loaded: Optional[dict] = None
        self._pending: Optional[dict] = None
        self._training = False

    def _sampler(self, runner):
        """The train sampler that has a seed (mmdet's batch samplers hold
        it; the loader's own ``sampler`` is then torch's default), or None
        outside training (``runner.train_loop`` would build the loop)."""
        if not self._training:
            return None
        loader = getattr(runner.train_loop, 'dataloader', None)
        batch = getattr(loader, 'batch_sampler', None)
        samplers = [getattr(x, 'sampler', None) for x in (loader, batch)]
        return next((s for s in samplers if hasattr(s, 'seed')), None)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        sampler = self._sampler(runner)
        states = dict(
            get_generator_states(),
            sampler_seed=getattr(sampler, 'seed', None))
        checkpoint.setdefault('meta', {})[META_KEY] = states

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Kept for before_train, which knows whether this was a resume.
        meta = checkpoint.get('meta') or {}
        self._loaded = dict(
            states=meta.get(META_KEY),
            epoch=meta.get('epoch'),
            iter=meta.get('iter'))

    def before_train(self, runner) -> None:
        self._training = True
        loaded, self._loaded = self._loaded, None
        position = (runner.epoch, runner.iter)
        if not loaded or runner.iter == 0 \
                or position != (loaded['epoch'], loaded['iter']):
            return  # a new run, or load_from (weights only)
        if loaded['states'] is None:
            runner.logger.warning(
                'The resumed checkpoint holds no generator states (written '
                'without ResumeStateHook): random transforms and DropPath '
                'draw other numbers than in an uninterrupted run.')
            return
        if get_world_size() > 1:
            runner.logger.info('Distributed run: the generator states of '
                               'the checkpoint are not restored.')
            return
        states = dict(loaded['states'])
        seed = states.pop('sampler_seed', None)
        sampler = self._sampler(runner)
        if seed is not None and getattr(sampler, 'seed', seed) != seed:
            sampler.seed = seed
        self._pending = states
        loop = runner.train_loop
        done = runner.iter if hasattr(loop, 'dataloader_iterator') \
            else runner.epoch
        interval = getattr(loop, 'val_interval', 0)
        if runner.val_loop is not None and interval and \
                done >= getattr(loop, 'val_begin', 1) and done % interval == 0:
            runner.logger.info(
                'The interrupted run validated after this checkpoint; the '
                "resumed run continues from the checkpoint's generator "
                'states, as before that validation.')

    def after_train(self, runner) -> None:
        self._training = False

    def _restore(self, runner) -> None:
        set_generator_states(self._pending)
        self._pending = None
        runner.logger.info(
            'Restored the random generator states of the checkpoint '
            f'(epoch {runner.epoch}, iter {runner.iter}).')

    def before_train_epoch(self, runner) -> None:
        if self._pending is None:
            return
        loop = runner.train_loop
        skip = loop.iter if hasattr(loop, 'dataloader_iterator') else 0
        if skip > 0:  # the loop draws `skip` batches before training on
            loop.dataloader_iterator = _RestoreAfter(
                loop.dataloader_iterator, skip, lambda: self._restore(runner))
        else:
            self._restore(runner)
