# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Convert a ConvMLP checkpoint (the authors' layout or this project's) to
this project's layout, with MMEngine-style ``meta``.

    python tools/model_converters/convmlp2mmconvmlp.py SRC DST [--config CFG]
        [--trust-source]

SRC is read weights-only (``--trust-source``: unpickled, for a local file
you trust); DST holds only what weights-only loading reads; ``--config``
gives class names to a file without; idempotent (docs/authors_models.md).
"""
import argparse
import io
import os.path as osp
import sys
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
sys.path.insert(0, osp.abspath(osp.join(__file__, '../../..')))  # the clone

from mmconvmlp.models.utils import (CheckpointError, convert_meta,
                                    convert_state_dict_keys,
                                    load_checkpoint_file)
from mmconvmlp.utils import ToolError, build_dataset, run_tool


def main(argv=None) -> dict:
    """Convert ``src`` into ``dst``; returns what was written. Refused
    (CheckpointError, nothing written): a ``dst`` holding other types than
    weights-only loading reads (from a trusted file's ``meta``)."""
    parser = argparse.ArgumentParser(description='Convert a ConvMLP '
                                     "checkpoint to this project's layout.")
    add = parser.add_argument
    add('src', help='checkpoint to convert (path or URL)')
    add('dst', help='file to write')
    add('--config',
        help="config whose test dataset's classes are written where SRC "
        'names none')
    add('--trust-source',
        action='store_true',
        help='read a local SRC with weights_only=False: it may run code, '
        'only for a file you trust')
    args = parser.parse_args(argv)
    import torch
    from mmengine.config import Config
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
    torch.save(out, buffer := io.BytesIO())
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
