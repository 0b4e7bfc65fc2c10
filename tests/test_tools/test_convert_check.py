"""tools/model_converters/convmlp2mmconvmlp.py and tools/misc/
check_dataset.py as a user runs them."""
import os.path as osp

import numpy as np
import torch
from oracle import authors_keys, s_record

from mmconvmlp.models import ConvMLP


def test_converter_writes_our_names_and_the_authors_function(
        tool_main, tmp_path):
    """An authors' whole-model file (every key of authors_keys.json under
    ``backbone.``, the recorded S weights): the written backbone keys are
    exactly the model's own (none of the authors' names left, so no
    load-time renaming can hide a converter that renames nothing), and the
    written tensors compute the original's recorded outputs. Converting
    again changes nothing."""
    authors, x, taps = s_record()
    assert list(authors) == [k for k, _ in authors_keys()['s']]
    torch.save(
        dict(
            meta=dict(CLASSES=('a', 'b')),
            state_dict={
                'backbone.' + k: v
                for k, v in authors.items()
            }), tmp_path / 'src.pth')
    for src, dst in (('src', 'once'), ('once', 'twice')):
        assert tool_main(
            'model_converters/convmlp2mmconvmlp',
            [str(tmp_path / f'{src}.pth'),
             str(tmp_path / f'{dst}.pth')]) == 0
    once, twice = (
        torch.load(tmp_path / f'{n}.pth', weights_only=True)
        for n in ('once', 'twice'))
    assert list(once['meta']['dataset_meta']['classes']) == ['a', 'b']
    model = ConvMLP('s', linear_pw_conv=False, drop_path_rate=0.)
    backbone = {k[9:]: v for k, v in once['state_dict'].items()}
    assert set(backbone) == set(model.state_dict())
    assert len(backbone) == len(authors) - 4  # norm.* and head.* dropped
    for key, value in twice['state_dict'].items():
        assert torch.equal(value, once['state_dict'][key]), key
    model.load_state_dict(backbone)
    model.double().eval()
    with torch.no_grad():
        outs = model(torch.from_numpy(x).double())
    for out, expected in zip(outs, taps):
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


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
