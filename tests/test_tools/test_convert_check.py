"""tools/model_converters/convmlp2mmconvmlp.py and tools/misc/
check_dataset.py as a user runs them."""
import json
import os.path as osp

import torch

from mmconvmlp.models import ConvMLP

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
AUTHORS = json.load(
    open(osp.join(REPO, 'tests', 'data', 'authors_keys.json')))['s']


def test_converter_is_idempotent_and_its_output_fits(tool_main, tmp_path):
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(s, generator=g) for k, s in AUTHORS}
    whole = {'backbone.' + k: v for k, v in state.items()}
    torch.save(
        dict(meta=dict(CLASSES=('a', 'b')), state_dict=whole),
        tmp_path / 'src.pth')
    for src, dst in (('src', 'once'), ('once', 'twice')):
        assert tool_main(
            'model_converters/convmlp2mmconvmlp',
            [str(tmp_path / f'{src}.pth'),
             str(tmp_path / f'{dst}.pth')]) == 0
    once, twice = (
        torch.load(tmp_path / f'{n}.pth') for n in ('once', 'twice'))
    assert list(once['meta']['dataset_meta']['classes']) == ['a', 'b']
    assert list(once['state_dict']) == list(twice['state_dict'])
    backbone = {k[9:]: v for k, v in once['state_dict'].items()}
    ConvMLP('s').load_state_dict(backbone)  # strict: every key fits
    assert len(backbone) == len(AUTHORS) - 4  # norm.* and head.* dropped


def test_check_dataset_names_the_bad_files(tiny_coco, repo_root, tool_main,
                                           capsys):
    config = osp.join(repo_root, 'configs', 'retinanet_convmlp_s_coco.py')
    args = [config, '--data-root', str(tiny_coco), '--split', 'train']
    assert tool_main('misc/check_dataset', args) == 0
    bad = osp.join(str(tiny_coco), 'train2017', '000000000002.jpg')
    with open(bad, 'wb') as f:
        f.write(b'\xff\xd8 not a jpeg')
    assert tool_main('misc/check_dataset', args) == 1
    assert f'{bad}: not an image' in capsys.readouterr().err
