#!/usr/bin/env python
"""Parameters and FLOPs of MMDetection / MMSegmentation configs, no data.

    python tools/analysis_tools/get_flops.py CONFIG [CONFIG ...]
        [--shape H W] [--out FILE.json] [--cfg-options KEY=VALUE ...]

MMEngine's ``FlopAnalyzer`` on the tensor-mode ``_forward`` of the model
(random weights) for one random image; one multiply-add counts as one
"flop": GMACs, and GFLOPs = 2 x GMACs (docs/complexity.md).
"""
import argparse
import os.path as osp
import sys
import warnings

warnings.filterwarnings('ignore', 'pkg_resources is deprecated')  # mmengine
sys.path.insert(0, osp.abspath(osp.join(__file__, '../../..')))  # the clone

import mmengine
import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.config import Config, DictAction

from mmconvmlp.utils import build_model

#: Input (H, W) per code base: COCO's 1333x800 resize, an ADE20K crop.
DEFAULT_SHAPES = {'mmdet': (800, 1280), 'mmseg': (512, 512)}


class TensorMode(torch.nn.Module):
    """``model._forward(inputs, data_samples)`` as a module of one input."""

    def __init__(self, model, data_samples):
        super().__init__()
        self.model, self.data_samples = model, data_samples

    def forward(self, inputs):
        return self.model._forward(inputs, self.data_samples)


def count(cfg, shape=None):
    """``dict(model, input, parts)``: the class name, the padded (H, W) the
    backbone sees for ``shape`` (default: :data:`DEFAULT_SHAPES`), and the
    params and MACs of backbone, neck, heads (the rest) and total.
    ValueError for a ``default_scope`` other than mmdet or mmseg."""
    scope = cfg.get('default_scope')
    if scope not in DEFAULT_SHAPES:
        raise ValueError(f'default_scope must be mmdet or mmseg: {scope}')
    if scope == 'mmseg':
        from mmseg.structures import SegDataSample as Sample
    else:
        from mmdet.structures import DetDataSample as Sample
    torch.manual_seed(0)  # a two-stage detector's proposals depend on it
    model = build_model(cfg).eval()
    h, w = shape or DEFAULT_SHAPES[scope]
    img = torch.randint(0, 256, (3, h, w), dtype=torch.uint8)
    meta = dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1., 1.))
    data = model.data_preprocessor(
        dict(inputs=[img], data_samples=[Sample(metainfo=meta)]), False)
    with torch.no_grad():
        analyzer = FlopAnalyzer(
            TensorMode(model, data['data_samples']), (data['inputs'], ))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        macs = analyzer.by_module()
    params = parameter_count(model)  # {module name: count}, '' the total
    total = dict(params=params[''], macs=macs['model'])
    parts = {
        n: dict(params=params[n], macs=macs[f'model.{n}'])
        for n in ('backbone', 'neck') if hasattr(model, n)
    }
    heads = [
        n for n, _ in model.named_children() if params[n] and n not in parts
    ]  # whatever holds parameters: the head(s)
    rest = {k: total[k] - sum(p[k] for p in parts.values()) for k in total}
    parts.update({' + '.join(heads): rest, 'total': total})
    shape = list(data['inputs'].shape[-2:])
    return dict(model=type(model).__name__, input=shape, parts=parts)


def main(argv=None):
    """Print a table per config; return the counts (list of dicts)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add = parser.add_argument
    add('configs', nargs='+', metavar='CONFIG')
    add('--shape', type=int, nargs=2, metavar=('H', 'W'))
    add('--out', help='also write the counts as JSON')
    add('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    results = []
    for path in args.configs:
        cfg = Config.fromfile(path)
        cfg.merge_from_dict(args.cfg_options or {})
        result = dict(config=path, **count(cfg, args.shape))
        results.append(result)
        print(f'\n{path} ({result["model"]}), input 1x3x'
              f'{result["input"][0]}x{result["input"][1]}\n\n'
              '| part | params (M) | GMACs | GFLOPs |\n|---|---|---|---|')
        for name, part in result['parts'].items():
            print(f'| {name} | {part["params"] / 1e6:.2f} | '
                  f'{part["macs"] / 1e9:.2f} | {part["macs"] / 5e8:.2f} |')
    print('\nGMACs: 1e9 multiply-adds (MMEngine\'s "flops"); GFLOPs = 2 x '
          'GMACs. Operators without a counting rule (GELU, additions, '
          'pooling, NMS, RoIAlign) count 0.')
    if args.out:
        mmengine.dump(results, args.out, file_format='json', indent=1)
    return results


if __name__ == '__main__':
    main()
