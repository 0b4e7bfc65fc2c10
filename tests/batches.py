"""Tiny in-memory batches and one training step plus one inference of a
detector or segmentor (CPU), for the tests; and the reset that lets a tool
run in the test process."""
import copy
import logging
import sys

import torch
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS, DefaultScope


def build_model(cfg):
    """``cfg.model`` built in the config's scope, SyncBN as BN."""
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        return revert_sync_batchnorm(MODELS.build(copy.deepcopy(cfg.model)))


def det_batch(num_classes=80, size=(128, 160), with_mask=False, batch_size=2):
    """Images with a few boxes (and masks), as a data loader packs them."""
    from mmdet.testing import demo_mm_inputs
    return demo_mm_inputs(
        batch_size=batch_size,
        image_shapes=[(3, *size)] * batch_size,
        num_items=[3] * batch_size,
        num_classes=num_classes,
        with_mask=with_mask)


def seg_batch(num_classes=150, size=(64, 96), batch_size=2):
    """Images with label maps, as a data loader packs them."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(
            torch.randint(0, 256, (3, *size), dtype=torch.uint8, generator=g))
        sample = SegDataSample(
            metainfo=dict(img_shape=size, ori_shape=size, pad_shape=size))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, *size), generator=g))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def train_and_infer(model, data, optim_wrapper=None):
    """One AdamW step and one inference; returns ``(log_vars, preds)``.

    Asserts that the losses are finite and the backbone's weights moved.
    """
    model.train()
    optim_wrapper = optim_wrapper or OptimWrapper(
        torch.optim.AdamW(model.parameters(), lr=1e-4))
    param = next(p for p in model.backbone.parameters() if p.requires_grad)
    before = param.detach().clone()
    log_vars = model.train_step(copy.deepcopy(data), optim_wrapper)
    assert all(
        torch.isfinite(torch.as_tensor(v)).all() for k, v in log_vars.items()
        if 'loss' in k), log_vars
    assert not torch.equal(before, param.detach()), 'backbone not updated'
    model.eval()
    with torch.no_grad():
        return log_vars, model.test_step(copy.deepcopy(data))


def reset_mmengine_globals() -> None:
    """Make MMEngine's process-wide state fit a fresh in-process tool run.

    MMEngine's loggers outlive a run and keep the stdout they were made with
    (closed after the test under pytest's capture); a tool run is one
    process, so in-process runs would otherwise share MMEngine's named
    visualizer instance (and its class names).
    """
    from mmengine.logging import MMLogger
    from mmengine.visualization import Visualizer
    for logger in MMLogger._instance_dict.values():
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:
                handler.stream = sys.stdout
    stack = [Visualizer]
    while stack:
        cls = stack.pop()
        cls._instance_dict.clear()
        stack += cls.__subclasses__()
