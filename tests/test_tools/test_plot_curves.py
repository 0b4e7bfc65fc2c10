"""tools/analysis_tools/plot_curves.py and mmconvmlp.utils.curves on logs
written by MMEngine's own LocalVisBackend, as LoggerHook writes them."""
import numpy as np
import pytest
from mmengine.visualization import LocalVisBackend
from PIL import Image

from mmconvmlp.utils import ToolError
from mmconvmlp.utils.curves import load_scalars

TOOL = 'analysis_tools/plot_curves'


def write_run(work_dir,
              timestamp,
              epochs,
              iters_per_epoch=4,
              start=0,
              scale=1.0):
    """A run's vis_data/scalars.json: a training line every 2 iterations,
    a validation line (metric, step = epoch) after every epoch."""
    backend = LocalVisBackend(str(work_dir / timestamp / 'vis_data'))
    for epoch in epochs:
        for i in range(2, iters_per_epoch + 1, 2):
            it = start + (epoch - 1) * iters_per_epoch + i
            backend.add_scalars(
                dict(
                    lr=1e-4,
                    loss=scale / it,
                    loss_cls=scale / (2 * it),
                    epoch=epoch,
                    iter=it,
                    memory=0,
                    time=0.5,
                    data_time=0.1),
                step=it)
        backend.add_scalars(
            {
                'coco/bbox_mAP': 0.1 * epoch * scale,
                'coco/bbox_mAP_50': 0.2 * epoch,
                'data_time': 0.1,
                'time': 0.2
            },
            step=epoch)


@pytest.fixture
def runs(tmp_path):
    first, second = tmp_path / 'retinanet_s', tmp_path / 'retinanet_m'
    write_run(first, '20240101_000000', epochs=[1, 2])
    write_run(first, '20240102_000000', epochs=[3])  # resumed
    write_run(second, '20240101_000000', epochs=[1, 2, 3], scale=0.5)
    return str(first), str(second)


def test_load_scalars_puts_metrics_on_the_iteration_axis(runs):
    scalars = load_scalars(runs[0])
    assert scalars['loss'][0] == [2, 4, 6, 8, 10, 12]
    assert scalars['loss'][1] == pytest.approx(
        [1 / i for i in (2, 4, 6, 8, 10, 12)])
    # Validated after epochs 1-3, i.e. after iterations 4, 8 and 12.
    assert scalars['coco/bbox_mAP'] == ([4, 8, 12], pytest.approx([.1, .2,
                                                                   .3]))
    assert 'step' not in scalars and 'iter' not in scalars


def test_two_work_dirs_in_one_picture(tool_main, capsys, runs, tmp_path):
    out = tmp_path / 'curves.png'
    assert tool_main(TOOL, [
        *runs, '--keys', 'loss', 'coco/bbox_mAP', '--out',
        str(out), '--title', 'S vs M'
    ]) == 0
    assert 'loss, coco/bbox_mAP of 2 runs drawn' in capsys.readouterr().out
    image = np.asarray(Image.open(out).convert('L'))
    assert image.shape == (450, 1300)  # two panels of 6.5 x 4.5 in, 100 dpi
    assert image.std() > 10  # not blank


def test_default_keys_and_legend(tool_main, capsys, runs, tmp_path):
    out = tmp_path / 'default.png'
    assert tool_main(
        TOOL,
        [*runs, '--legend', 'S', 'M', '--smooth', '2', '--out',
         str(out)]) == 0
    assert 'loss, coco/bbox_mAP of 2 runs drawn' in capsys.readouterr().out
    assert out.is_file()


def test_errors(tool_main, capsys, runs, tmp_path):
    assert tool_main(
        TOOL, [*runs, '--keys', 'mIoU', '--out',
               str(tmp_path / 'x.png')]) == 1
    err = capsys.readouterr().err
    assert "no run logged 'mIoU'" in err and 'coco/bbox_mAP_50' in err
    assert tool_main(TOOL, [runs[0], '--legend', 'a', 'b']) == 1
    assert 'one name per run' in capsys.readouterr().err
    with pytest.raises(ToolError, match='no MMEngine log'):
        load_scalars(str(tmp_path))
