"""Export a ConvMLP backbone, detector or segmentor to ONNX, and verify it.

    python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT]
        [--what {model,backbone}] [--shape H W] [--out FILE.onnx]
        [--verify] [--image FILE] [--tol T] [--cfg-options KEY=VALUE ...]

Raw head outputs (RetinaNet, Semantic FPN) or the backbone's maps, dynamic
batch, height and width; the checkpoint (default: random weights) is read
weights-only. ``--verify`` exits with 1 when ONNX Runtime's raw outputs or
post-processed predictions disagree with PyTorch's (docs/deployment.md).
"""
import argparse
import copy
import os.path as osp
import sys
import warnings

warnings.filterwarnings('ignore', 'pkg_resources is deprecated')  # mmengine
# The TorchScript exporter (dynamo=False) is used on purpose.
warnings.filterwarnings('ignore', 'You are using the legacy TorchScript')
sys.path.insert(0, osp.abspath(osp.join(__file__, '../../..')))  # the clone

import mmcv
import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import Compose, pseudo_collate
from mmengine.runner import load_checkpoint

from mmconvmlp.models.utils import CheckpointError, enable_safe_loading
from mmconvmlp.utils import build_model

DEFAULT_SHAPES = {'mmdet': (800, 1216), 'mmseg': (512, 512)}


class RawOutputs(torch.nn.Module):
    """The exported function: a flat tuple of tensors of one input."""

    def __init__(self, model, what):
        super().__init__()
        self.model, self.what = model, what

    def forward(self, x):
        if self.what == 'backbone':
            return tuple(self.model.backbone(x))
        out = self.model._forward(x)  # tensor mode: no post-processing
        return (out, ) if torch.is_tensor(out) else tuple(t for group in out
                                                          for t in group)


def traceable(model):
    """A copy whose mmseg ``Upsample`` layers (output size computed in
    Python, frozen by a trace) are ``nn.Upsample`` of the same factor."""
    model = copy.deepcopy(model)
    if hasattr(model, 'decode_head'):
        from mmseg.models.utils import Upsample
        for module in list(model.modules()):
            for name, child in module.named_children():
                if isinstance(child, Upsample) and not child.size:
                    args = child.scale_factor, child.mode, child.align_corners
                    setattr(module, name, torch.nn.Upsample(None, *args))
    return model


def load_batch(cfg, model, image):
    """``--image`` (or a random one) through the test pipeline and the data
    preprocessor: ``(inputs (1, 3, H, W), data_samples)``."""
    steps = [copy.deepcopy(t) for t in cfg.test_dataloader.dataset.pipeline]
    steps = [t for t in steps if 'Annotation' not in t['type']]
    steps[0] = dict(type='LoadImageFromNDArray')  # scope: the config's
    rng = np.random.default_rng(0)
    img = mmcv.imread(image) if image else rng.integers(
        0, 256, (480, 640, 3), np.uint8)
    data = Compose(steps)(dict(img=img, img_id=0, img_path=image))
    data = model.data_preprocessor(pseudo_collate([data]), False)
    return data['inputs'], data['data_samples']


def compare(model, raw, inputs, samples):
    """``(share that agrees, share needed, what)`` of ONNX Runtime's ``raw``
    outputs post-processed by the library against ``model.predict``: boxes
    of the same label and IoU > 0.99, both ways, or label map pixels."""
    metas = [s.metainfo for s in samples]
    ref = model.predict(inputs, copy.deepcopy(samples))[0]
    if hasattr(model, 'bbox_head'):
        from mmdet.structures.bbox import bbox_overlaps
        n = len(model.bbox_head.prior_generator.strides)  # outputs per level
        groups = [raw[i:i + n] for i in range(0, len(raw), n)]
        ours = model.bbox_head.predict_by_feat(
            *groups, batch_img_metas=metas, rescale=True)[0]
        ref = ref.pred_instances
        hit = (bbox_overlaps(ours.bboxes, ref.bboxes) > 0.99) & (
            ours.labels[:, None] == ref.labels[None])
        share = float(len(ours) == len(ref))  # no boxes on one side
        if hit.numel():
            share = min(hit.any(0).float().mean(), hit.any(1).float().mean())
        return float(share), 0.99, f'{len(ref)} / {len(ours)} boxes'
    logits = model.decode_head.predict_by_feat(raw[0], metas)
    ours = model.postprocess_result(logits, copy.deepcopy(samples))[0]
    same = ours.pred_sem_seg.data == ref.pred_sem_seg.data
    return same.float().mean().item(), 0.999, f'{same.numel()} pixels'


def verify(path, net, model, cfg, image, tol):
    """Compare ONNX Runtime with PyTorch; returns whether they agree."""
    import onnxruntime as ort
    inputs, samples = load_batch(cfg, model, image)
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    with torch.no_grad():
        ref = net(inputs)
        feed = {'input': inputs.numpy()}
        ort_out = list(map(torch.from_numpy, session.run(None, feed)))
    err = max(((o - r).abs().max() / r.abs().max().clamp(min=1)).item()
              for o, r in zip(ort_out, ref))
    ok = err <= tol
    print(f'input {tuple(inputs.shape)}: raw outputs, largest |ONNX Runtime'
          f' - PyTorch| / max(1, |PyTorch|) = {err:.2e} (tolerance {tol})')
    if net.what == 'model':
        with torch.no_grad():
            share, need, what = compare(model, ort_out, inputs, samples)
        ok = ok and share >= need
        print(f'predictions (PyTorch / ONNX Runtime: {what}): '
              f'{100 * share:.2f} % agree (needed: {100 * need:g} %)')
    print('verification passed' if ok else 'verification FAILED')
    return ok


def main(argv=None):
    """Export (and verify); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add = parser.add_argument
    add('config')
    add('checkpoint', nargs='?', help='default: random weights')
    add('--what', choices=('model', 'backbone'), default='model')
    add('--shape', type=int, nargs=2, metavar=('H', 'W'), help='export size')
    add('--out', help='default: <config name>_<what>.onnx')
    add('--verify', action='store_true')
    add('--image', help='to verify with (default: a random image)')
    add('--tol', type=float, default=1e-4)
    add('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options or {})
    enable_safe_loading()
    model = build_model(cfg).eval()
    try:
        if args.checkpoint:
            load_checkpoint(
                model, args.checkpoint, map_location='cpu', strict=True)
        else:
            print('no checkpoint: random weights (PyTorch default init)')
    except CheckpointError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    if args.what == 'model' and not (hasattr(model, 'decode_head')
                                     or hasattr(model, 'bbox_head')):
        sys.exit(f'error: {type(model).__name__} is not exported whole; '
                 'give --what backbone')
    net = RawOutputs(traceable(model), args.what).eval()
    x = torch.randn(1, 3, *(args.shape or DEFAULT_SHAPES[cfg.default_scope]))
    with torch.no_grad():
        names = ['input'] + [f'output_{i}' for i in range(len(net(x)))]
    name = osp.splitext(osp.basename(args.config))[0]
    out = args.out or f'{name}_{args.what}.onnx'
    # Dynamic batch and size; each map its own size names (ONNX Runtime
    # takes equal names for equal sizes).
    axes = {n: {0: 'batch', 2: n + '_h', 3: n + '_w'} for n in names}
    kw = dict(input_names=names[:1], output_names=names[1:], dynamic_axes=axes)
    torch.onnx.export(net, (x, ), out, dynamo=False, opset_version=17, **kw)
    print(f'{args.what} of {args.config} exported to {out}')
    return int(
        args.verify and not verify(out, RawOutputs(model, args.what), model,
                                   cfg, args.image, args.tol))


if __name__ == '__main__':
    sys.exit(main())
