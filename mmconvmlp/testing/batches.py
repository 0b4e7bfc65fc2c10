"""Build a detector/segmentor from a config and run one training step and one
inference on tiny in-memory batches (CPU)."""
import copy

import torch
from mmengine.optim import OptimWrapper

from mmconvmlp.utils.config import build_model  # noqa: F401  (re-exported)


def num_params(model):
    return sum(p.numel() for p in model.parameters())


def det_batch(num_classes=80, size=(128, 160), with_mask=False, batch_size=2):
    """Two images with a few boxes (and masks), as a data loader packs them."""
    from mmdet.testing import demo_mm_inputs
    return demo_mm_inputs(
        batch_size=batch_size,
        image_shapes=[(3, *size)] * batch_size,
        num_items=[3] * batch_size,
        num_classes=num_classes,
        with_mask=with_mask)


def seg_batch(num_classes=150, size=(64, 96), batch_size=2):
    """Two images with label maps, as a data loader packs them."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(
            torch.randint(0, 256, (3, *size), dtype=torch.uint8, generator=g))
        label = torch.randint(0, num_classes, (1, *size), generator=g)
        label[:, :4] = 255  # some ignored pixels
        sample = SegDataSample(
            metainfo=dict(img_shape=size, ori_shape=size, pad_shape=size))
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def train_and_infer(model, data, optim_wrapper=None):
    """One optimisation step (forward, loss, backward, AdamW step) and one
    inference; returns ``(log_vars, predictions)``.

    Asserts that every loss is finite and that the backbone's weights moved.
    """
    model.train()
    if optim_wrapper is None:
        optim_wrapper = OptimWrapper(
            torch.optim.AdamW(model.parameters(), lr=1e-4))
    param = next(p for p in model.backbone.parameters() if p.requires_grad)
    before = param.detach().clone()
    log_vars = model.train_step(copy.deepcopy(data), optim_wrapper)
    losses = {
        k: float(torch.as_tensor(v).detach())
        for k, v in log_vars.items() if 'loss' in k
    }
    assert losses and all(
        torch.isfinite(torch.tensor(v)) for v in losses.values()), log_vars
    assert not torch.equal(before,
                           param.detach()), 'the backbone was not updated'
    model.eval()
    with torch.no_grad():
        predictions = model.test_step(copy.deepcopy(data))
    assert len(predictions) == len(data['inputs'])
    return log_vars, predictions
