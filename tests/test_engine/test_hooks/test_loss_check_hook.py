"""LossCheckHook stops a run at the first non-finite loss term, naming the
term and the batch's images, before any checkpoint of that step is written;
tools/train.py turns it into one message and exit status 1."""
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.structures import BaseDataElement

from mmconvmlp.engine.hooks import NonFiniteLossError


class Toy(BaseModel):
    """loss_a is finite; loss_b turns NaN at the third step."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))
        self.steps = 0

    def forward(self, inputs, data_samples=None, mode='loss'):
        self.steps += 1
        bad = float('nan') if self.steps >= 3 else 0.0
        x = torch.stack(inputs).float().mean()
        return dict(
            loss_a=(self.w * x)**2, loss_b=self.w * x * 0 + bad * self.w)


def sample(i):
    return dict(
        inputs=torch.full((2, ), float(i)),
        data_samples=BaseDataElement(metainfo=dict(img_path=f'img{i}.png')))


def test_stops_at_the_nan_step_naming_term_and_images(tmp_path):
    runner = Runner(
        model=Toy(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=[sample(i) for i in range(8)],
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='pseudo_collate'),
            batch_size=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=4),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1,
                            by_epoch=False)),
        custom_hooks=[dict(type='mmconvmlp.LossCheckHook')],
        default_scope='mmconvmlp')
    with pytest.raises(NonFiniteLossError) as error:
        runner.train()
    message = str(error.value)
    assert message.startswith('iteration 3: non-finite loss loss_b=nan')
    assert 'loss_a' not in message
    assert message.endswith('the batch: img4.png, img5.png')
    saved = sorted(p.name for p in tmp_path.glob('*.pth'))
    assert saved == ['iter_1.pth', 'iter_2.pth']  # not the NaN step's


def test_the_tools_print_it_as_one_message(capsys):
    from mmconvmlp.utils import run_tool

    def main(argv):
        raise NonFiniteLossError('iteration 3: non-finite loss loss_b=nan')

    assert run_tool(main) == 1
    assert capsys.readouterr().err == (
        'error: iteration 3: non-finite loss loss_b=nan\n')
