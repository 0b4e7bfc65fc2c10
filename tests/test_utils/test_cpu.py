"""What the CPU computes natively, as torch was told to use it."""
import os
import subprocess
import sys

from mmconvmlp.utils import cpu


def _probe(env):
    code = ('from mmconvmlp.utils.cpu import cpu_capability, has_native_bf16, '
            'cpu_info;'
            'i = cpu_info(); print(cpu_capability(), has_native_bf16(), '
            'i["torch_isa"], i["native_bf16"], i["aten_cpu_capability"])')
    out = subprocess.run([sys.executable, '-c', code],
                         env=env,
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_avx2_kernels_mean_no_native_bf16():
    """The variables that restrict torch to AVX2 kernels make any x86-64 CPU
    answer as an AVX2-only one: bfloat16 is then not native."""
    env = dict(
        os.environ, ONEDNN_MAX_CPU_ISA='AVX2', ATEN_CPU_CAPABILITY='avx2')
    assert _probe(env) == ['AVX2', 'False', 'AVX2', 'False', 'avx2']


def test_native_bf16_needs_avx512_kernels(monkeypatch):
    monkeypatch.setattr(cpu, 'cpu_capability', lambda: 'AVX2')
    assert cpu.has_native_bf16() is False
    monkeypatch.setattr(cpu, 'cpu_capability', lambda: 'AVX512')
    monkeypatch.setattr(cpu.torch.ops.mkldnn, '_is_mkldnn_bf16_supported',
                        lambda: False)
    assert cpu.has_native_bf16() is False
    monkeypatch.setattr(cpu.torch.ops.mkldnn, '_is_mkldnn_bf16_supported',
                        lambda: True)
    assert cpu.has_native_bf16() is True


def test_describe_cpu_names_isa_and_bf16(monkeypatch):
    monkeypatch.setattr(cpu, 'has_native_bf16', lambda: False)
    monkeypatch.setenv('ATEN_CPU_CAPABILITY', 'avx2')
    text = cpu.describe_cpu()
    assert f'torch kernels {cpu.cpu_capability()}' in text
    assert 'bfloat16 emulated' in text and 'ATEN_CPU_CAPABILITY=avx2' in text
