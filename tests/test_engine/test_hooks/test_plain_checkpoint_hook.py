"""PlainCheckpointHook: a checkpoint holding MMEngine's message hub is
written in types torch's weights-only loading reads with no allow-list, and
loads back into a message hub equal to the one saved."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

from mmconvmlp.engine import PlainCheckpointHook


def test_round_trip_through_weights_only_loading(tmp_path):
    hub = MessageHub.get_instance('plain_checkpoint_hook_test')
    for i in range(5):
        hub.update_scalar('train/loss', 1.0 / (i + 1))
        hub.update_scalar('train/iters', i, count=2)
    hub.update_info('eta', np.float64(12.5), resumed=True)
    hub.update_info('sizes', np.arange(3), resumed=True)
    checkpoint = dict(
        meta=dict(iter=5, scale=np.float32(0.5)),
        state_dict={'w': torch.ones(2)},
        message_hub=hub.state_dict())
    path = tmp_path / 'plain.pth'
    torch.save(checkpoint, path)  # as MMEngine writes it
    with pytest.raises(pickle.UnpicklingError, match='Unsupported global'):
        torch.load(path, weights_only=True)

    hook = PlainCheckpointHook()
    hook.before_save_checkpoint(None, checkpoint)
    torch.save(checkpoint, path)
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
    loaded = torch.load(path, weights_only=True)  # torch's own allow-list
    hook.after_load_checkpoint(None, loaded)

    restored = MessageHub.get_instance('plain_checkpoint_hook_test_2')
    restored.load_state_dict(loaded['message_hub'])
    for key in ('train/loss', 'train/iters'):
        for got, want in zip(
                restored.get_scalar(key).data,
                hub.get_scalar(key).data):
            np.testing.assert_array_equal(got, want)
        assert restored.get_scalar(key).mean(3) == hub.get_scalar(key).mean(3)
    assert restored.get_info('eta') == 12.5
    np.testing.assert_array_equal(restored.get_info('sizes'), np.arange(3))
    assert loaded['meta'] == dict(iter=5, scale=0.5)
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
