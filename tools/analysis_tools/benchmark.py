"""Latency of the ConvMLP backbone against MMDetection's ResNet-50 on a CPU.

    python tools/analysis_tools/benchmark.py [--shape H W] [--threads N]
        [--arch {s,m,l}] [--linear-pw-conv {true,false,both}] [--bf16]
        [--compile] [--onnx] [--min-run-time S] [--rounds N] [--quick]
        [--out FILE.json]

Both on one random image, interleaved rounds of ``torch.utils.benchmark``;
a Markdown table of medians (ms) and ratios per setting (fp32, fused, bf16,
compile, ONNX Runtime): docs/benchmark.md.
"""
import argparse
import copy
import os.path as osp
import sys
import tempfile
import warnings

warnings.filterwarnings('ignore', 'pkg_resources is deprecated')  # mmengine
warnings.filterwarnings('ignore', 'You are using the legacy TorchScript')
sys.path.insert(0, osp.abspath(osp.join(__file__, '../../..')))  # the clone

import mmengine
import torch
from torch.utils import benchmark, collect_env

from mmconvmlp.engine import has_native_bf16

ROUTES = {'true': [True], 'false': [False], 'both': [True, False]}
ROUTE_NAMES = {None: '', True: ' (linear)', False: ' (1x1 conv)'}


def machine():
    """The CPU (lscpu through ``torch.utils.collect_env``: model, flags),
    the kernels ATen runs and the torch and oneDNN builds."""
    lscpu = collect_env.get_cpu_info(collect_env.run) or ''
    info = dict(ln.split(':', 1) for ln in lscpu.splitlines() if ':' in ln)
    info = {k: v.strip() for k, v in info.items()}
    flags = info.get('Flags', '').split()
    onednn = [ln.strip(' -') for ln in torch.__config__.show().splitlines()]
    onednn = [ln for ln in onednn if 'MKL-DNN' in ln or 'oneDNN' in ln]
    return dict(
        cpu=f'{info.get("Model name")} (family {info.get("CPU family")}, '
        f'model {info.get("Model")})',
        avx512='avx512f' in flags,
        avx512_bf16='avx512_bf16' in flags,
        capability=torch.backends.cpu.get_cpu_capability(),
        native_bf16=has_native_bf16(),
        torch=torch.__version__,
        onednn=(onednn or ['?'])[0])


def eager(net, bf16=False):
    """A call of ``net`` without autograd, optionally under bf16 autocast."""

    def run(x):
        with torch.inference_mode(), torch.autocast(
                'cpu', torch.bfloat16, enabled=bf16):
            return net(x)

    return run


def onnxruntime_run(net, x, threads, folder):
    """Export ``net`` in fp32; a call of it on ONNX Runtime."""
    import onnxruntime as ort
    path = osp.join(folder, f'{id(net)}.onnx')
    with torch.no_grad():
        torch.onnx.export(net, (x, ), path, dynamo=False, opset_version=17)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(path, options, ['CPUExecutionProvider'])
    feed = session.get_inputs()[0].name
    return lambda x: session.run(None, {feed: x.numpy()})


def settings(nets, x, args, folder):
    """The rows to time: ``{setting: {net name: call of x}}``."""
    from mmcv.cnn import fuse_conv_bn
    fused = {n: fuse_conv_bn(copy.deepcopy(m)) for n, m in nets.items()}
    rows = {'fp32': {n: eager(m) for n, m in nets.items()}}
    rows['fp32 fused'] = {n: eager(m) for n, m in fused.items()}
    if has_native_bf16() or args.bf16:
        rows['bf16 fused'] = {n: eager(m, True) for n, m in fused.items()}
    else:
        print('bf16 is emulated on this CPU (torch kernels '
              f'{torch.backends.cpu.get_cpu_capability()}): skipped; --bf16 '
              'times it anyway')
    if args.compile:
        rows['compile'] = {
            n: eager(torch.compile(m, dynamic=False))
            for n, m in fused.items()
        }
    if args.onnx:
        rows['onnxruntime'] = {
            n: onnxruntime_run(m, x, args.threads, folder)
            for n, m in fused.items()
        }
    return rows


def measure(rows, x, args):
    """``{(setting, net name): Measurement}``, rounds merged."""
    for fns in rows.values():
        for fn in fns.values():
            fn(x)  # once outside the timer: compilation, oneDNN's caches
    runs = {}
    for _ in range(args.rounds):
        for setting, fns in rows.items():
            for name, fn in fns.items():
                timer = benchmark.Timer(
                    'fn(x)',
                    globals=dict(fn=fn, x=x),
                    label=setting,
                    description=name,
                    num_threads=args.threads)
                runs.setdefault((setting, name), []).append(
                    timer.blocked_autorange(min_run_time=args.min_run_time))
    return {k: benchmark.Measurement.merge(v)[0] for k, v in runs.items()}


def timing(m):
    """Median and interquartile range of a Measurement, in ms."""
    return dict(ms=m.median * 1e3, iqr_ms=m.iqr * 1e3, runs=len(m.times))


def main(argv=None):
    """Time, print the table; return ``dict(machine, shape, rows)``."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add = parser.add_argument
    add('--shape', type=int, nargs=2, metavar=('H', 'W'), help='800 1216')
    add('--threads', type=int, default=2)
    add('--arch', default='s', choices=('s', 'm', 'l'))
    add('--linear-pw-conv', choices=sorted(ROUTES))
    add('--bf16', action='store_true', help='also where it is emulated')
    add('--compile', action='store_true')
    add('--onnx', action='store_true')
    add('--min-run-time', type=float, default=5., help='seconds per timing')
    add('--rounds', type=int, default=2)
    add('--quick', action='store_true', help='224x224, 0.1 s, one round')
    add('--out', help='also write the results as JSON')
    args = parser.parse_args(argv)
    if args.quick:
        args.min_run_time, args.rounds = 0.1, 1
    args.shape = args.shape or ((224, 224) if args.quick else (800, 1216))
    torch.set_num_threads(args.threads)
    info = dict(machine(), threads=args.threads)
    print(f'CPU: {info["cpu"]}, AVX-512 {info["avx512"]}, AVX512-BF16 '
          f'{info["avx512_bf16"]}; torch {info["torch"]} ({info["onednn"]})'
          f', kernels {info["capability"]}, {args.threads} threads; '
          f'input 1x3x{args.shape[0]}x{args.shape[1]}')
    torch.manual_seed(0)
    from mmdet.models.backbones import ResNet

    from mmconvmlp.models import ConvMLP
    nets = {  # eval mode: ConvMLP per route, ResNet-50
        f'ConvMLP-{args.arch.upper()}{ROUTE_NAMES[route]}':
        ConvMLP(
            arch=args.arch,
            out_indices=(0, 1, 2, 3),
            **({} if route is None else dict(linear_pw_conv=route)))
        for route in ROUTES.get(args.linear_pw_conv, [None])
    }
    nets['ResNet-50'] = ResNet(depth=50)
    for net in nets.values():
        net.eval()  # mmdet's train() returns None: no chaining
    x = torch.randn(1, 3, *args.shape)
    with tempfile.TemporaryDirectory() as folder:
        times = measure(settings(nets, x, args, folder), x, args)
    rows = []
    print('| setting | model | ms | ResNet-50 ms | ratio to ResNet-50 |\n'
          '|---|---|---|---|---|')
    for (setting, name), m in times.items():
        ref = times[setting, 'ResNet-50']
        if name != 'ResNet-50':
            row = dict(
                setting=setting, model=name, ratio=m.median / ref.median)
            rows.append(dict(row, **timing(m), resnet50=timing(ref)))
            print(f'| {setting} | {name} | {m.median * 1e3:.1f} | '
                  f'{ref.median * 1e3:.1f} | {m.median / ref.median:.2f} |')
    result = dict(machine=info, shape=list(args.shape), rows=rows)
    if args.out:
        mmengine.dump(result, args.out, file_format='json', indent=1)
    return result


if __name__ == '__main__':
    main()
