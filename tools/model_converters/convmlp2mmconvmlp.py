#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Convert a ConvMLP checkpoint (the authors' layout or this project's) to
this project's layout, with MMEngine-style ``meta``.

    python tools/model_converters/convmlp2mmconvmlp.py SRC DST [--config CFG]
        [--trust-source]

Whole models (``backbone.``-prefixed keys: the authors' mmdet 2.x / mmseg
0.x files) keep every key, the backbone's renamed; backbone-only files (the
authors' ImageNet classifiers) lose the classifier. ``meta['CLASSES']`` /
``['PALETTE']`` become ``meta['dataset_meta']``; ``--config`` supplies class
names to a file without any. Converting the output again changes nothing.
SRC (a path, URL or any MMEngine scheme) is read weights-only; DST holds
only tensors and plain types, so ``torch.load(weights_only=True)`` reads it.
``--trust-source`` reads a local SRC with ``weights_only=False`` instead
(its code runs: only for a file you trust) and writes it in plain types.
"""
import argparse
import io
import os.path as osp
import sys
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmconvmlp.models.utils import (CheckpointError, convert_meta,
                                    convert_state_dict_keys,
                                    load_checkpoint_file)
from mmconvmlp.utils import ToolError, build_dataset, run_tool


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert a ConvMLP '
                                     "checkpoint to this project's layout.")
    parser.add_argument('src', help='checkpoint to convert (path or URL)')
    parser.add_argument('dst', help='file to write')
    parser.add_argument(
        '--config',
        help="config whose test dataset's "
        'classes are written where SRC names none')
    parser.add_argument(
        '--trust-source',
        action='store_true',
        help='read a local SRC with weights_only=False: it may run code, '
        'only for a file you trust')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    """Convert ``src`` into ``dst``; returns what was written.

    Raises:
        ToolError: The output folder or the config does not exist;
            ``--trust-source`` with a URL.
        CheckpointError: ``src`` is missing, unreadable or refused; or
            ``dst`` would hold other types than weights-only loading reads
            (its ``meta`` does; nothing is written).
    """
    import torch
    from mmengine.config import Config
    args = parse_args(argv)
    if not osp.isdir(osp.dirname(osp.abspath(args.dst))):
        raise ToolError(f'output folder not found for {args.dst}')
    dataset_meta = None
    if args.config:
        if not osp.isfile(args.config):
            raise ToolError(f'config not found: {args.config}')
        cfg = Config.fromfile(args.config)
        dataset_meta = build_dataset(cfg, cfg.test_dataloader.dataset).metainfo
    if args.trust_source:
        if '://' in args.src:
            raise ToolError('--trust-source reads local files: download '
                            f'{args.src} first')
        source = torch.load(args.src, map_location='cpu', weights_only=False)
    else:
        source = load_checkpoint_file(args.src)
    wrapped = isinstance(source.get('state_dict'), dict)
    state_dict = dict(source['state_dict'] if wrapped else source)
    whole = any(k.startswith('backbone.') for k in state_dict)
    convert_state_dict_keys(state_dict, 'backbone.' if whole else '')
    meta = convert_meta(source.get('meta') if wrapped else None, dataset_meta)
    out = dict(meta=meta, state_dict=state_dict)
    buffer = io.BytesIO()
    torch.save(out, buffer)
    buffer.seek(0)
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(buffer)
    if unsafe:  # e.g. objects in a trusted file's meta
        raise CheckpointError(f'{args.src}: its meta holds {unsafe[:5]}, '
                              'which weights-only loading refuses; '
                              f'{args.dst} not written')
    with open(args.dst, 'wb') as f:
        f.write(buffer.getbuffer())
    classes = meta.get('dataset_meta', {}).get('classes')
    print(f'{args.dst}: {len(state_dict)} tensors, ' +
          (f'{len(classes)} class names' if classes else 'no class names'))
    return out


if __name__ == '__main__':
    sys.exit(run_tool(main))
