"""CheckpointCheckHook in MMEngine's runner: Runner.load_checkpoint (the path
of load_from, resume and tools/test.py) refuses files that would leave the
model partly loaded, and skips head weights when fine-tuning."""
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmconvmlp import ConvMLP
from mmconvmlp.engine import CheckpointCheckHook
from mmconvmlp.models.utils import CheckpointMismatchError
from mmconvmlp.testing.reference import ReferenceConvMLP
from mmconvmlp.utils import set_checkpoint_check


class Toy(BaseModel):
    """Backbone, neck and a classification head whose shape follows the class
    count, as in a detector."""

    def __init__(self, num_classes=3):
        super().__init__()
        self.backbone = ConvMLP('s', init_cfg=None)
        self.neck = nn.Conv2d(512, 8, 1)
        self.cls_head = nn.Linear(8, num_classes)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.cls_head(self.neck(self.backbone(inputs)[-1]).mean((2, 3)))


def authors_file(path, num_classes=3, seed=0):
    """The toy's weights with the backbone in the authors' layout."""
    reference = ReferenceConvMLP('s').randomize(seed)
    state_dict = {
        f'backbone.{k}': v
        for k, v in reference.state_dict().items()
    }
    state_dict.update({
        k: torch.randn(v.shape)
        for k, v in Toy(num_classes).state_dict().items()
        if not k.startswith('backbone.')
    })
    torch.save({
        'state_dict': state_dict,
        'meta': {
            'mmdet_version': '2.11.0'
        }
    }, path)
    return reference, state_dict


def runner(tmp_path, policy, load_from=None):
    # A name of its own: runners started in the same second would share a
    # logger (whose output stream is the first test's).
    return Runner(
        model=Toy(),
        work_dir=str(tmp_path),
        load_from=load_from,
        experiment_name=tmp_path.name,
        custom_hooks=[
            dict(type='mmconvmlp.CheckpointCheckHook', policy=policy)
        ],
        default_scope='mmconvmlp',
        env_cfg=dict(dist_cfg=dict(backend='gloo')))


def test_strict_loads_authors_file_exactly(tmp_path):
    reference, _ = authors_file(tmp_path / 'a.pth', seed=1)
    run = runner(tmp_path, 'strict')
    run.load_checkpoint(str(tmp_path / 'a.pth'))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for e, g in zip(reference.eval()(x), run.model.backbone.eval()(x)):
            torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-4)


def test_strict_refuses_before_loading(tmp_path):
    _, state_dict = authors_file(tmp_path / 'a.pth')
    del state_dict['neck.bias']
    torch.save({'state_dict': state_dict}, tmp_path / 'partial.pth')
    run = runner(tmp_path, 'strict', load_from=str(tmp_path / 'partial.pth'))
    before = run.model.backbone.stem[0].conv.weight.detach().clone()
    with pytest.raises(CheckpointMismatchError) as error:
        run.load_checkpoint(str(tmp_path / 'partial.pth'))
    assert (f'checkpoint {tmp_path / "partial.pth"} does not fit the model'
            in str(error.value))
    assert '  neck: 1 missing key: neck.bias' in str(error.value)
    assert torch.equal(run.model.backbone.stem[0].conv.weight,
                       before)  # nothing loaded


def test_finetune_skips_the_head_with_one_line(tmp_path, capsys):
    _, state_dict = authors_file(tmp_path / 'a.pth', num_classes=5)
    run = runner(tmp_path, 'finetune', load_from=str(tmp_path / 'a.pth'))
    initial = run.model.cls_head.weight.detach().clone()
    run.load_checkpoint(str(tmp_path / 'a.pth'))
    assert torch.equal(run.model.cls_head.weight, initial)
    assert torch.equal(run.model.neck.weight, state_dict['neck.weight'])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if 'fine-tuning from' in line]
    assert len(lines) == 1
    assert (
        '2 head tensors keep their initial values: cls_head.weight '
        '(file (5, 8), model (3, 8)), cls_head.bias (file (5,), model (3,))'
    ) in lines[0]
    # MMEngine found nothing to warn about
    assert 'do not match exactly' not in out


def test_registered_and_policy_checked():
    from mmengine.registry import HOOKS
    hook = HOOKS.build(
        dict(type='mmconvmlp.CheckpointCheckHook', policy='finetune'))
    assert isinstance(hook, CheckpointCheckHook) and hook.policy == 'finetune'
    with pytest.raises(ValueError, match='policy must be one of'):
        CheckpointCheckHook('loose')


def test_tools_replace_a_configured_check():
    cfg = Config(
        dict(custom_hooks=[
            dict(type='mmconvmlp.LossCurveHook'),
            dict(type='CheckpointCheckHook', policy='finetune')
        ]))
    set_checkpoint_check(cfg, 'strict')
    assert cfg.custom_hooks == [
        dict(type='mmconvmlp.LossCurveHook'),
        dict(type='mmconvmlp.CheckpointCheckHook', policy='strict')
    ]
    empty = Config(dict())
    set_checkpoint_check(empty, 'resume')
    assert empty.custom_hooks == [
        dict(type='mmconvmlp.CheckpointCheckHook', policy='resume')
    ]
