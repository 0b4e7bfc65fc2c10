"""ResumeStateHook's parts: the generator states survive a weights-only
checkpoint round trip, and restoring them replays the same numbers."""
import random

import numpy as np
import torch

from mmconvmlp.engine.hooks.resume_state_hook import (_RestoreAfter,
                                                      get_generator_states,
                                                      set_generator_states)
from mmconvmlp.models.utils import load_checkpoint_file


def _draw():
    return (random.random(), float(np.random.rand()), float(np.random.randn()),
            float(torch.rand(1)))


def test_states_round_trip_through_a_weights_only_checkpoint(tmp_path):
    np.random.randn()  # leaves a cached Gaussian in numpy's state
    states = get_generator_states()
    expected = [_draw() for _ in range(3)]
    torch.save({'meta': {'generator_states': states}}, tmp_path / 'c.pth')
    loaded = load_checkpoint_file(str(tmp_path / 'c.pth'))
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    set_generator_states(loaded['meta']['generator_states'])
    assert [_draw() for _ in range(3)] == expected


def test_restore_after_skipped_items():
    calls = []
    it = _RestoreAfter(iter(range(5)), 2, lambda: calls.append('restored'))
    assert next(it) == 0 and calls == []
    assert next(it) == 1 and calls == ['restored']
    assert list(it) == [2, 3, 4] and calls == ['restored']
