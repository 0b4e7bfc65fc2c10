"""mmconvmlp: the ConvMLP backbone for OpenMMLab (MMEngine, MMDetection,
MMSegmentation)."""
import os.path as osp
from setuptools import find_packages, setup


def get_version():
    ns = {}
    with open(osp.join(osp.dirname(__file__), 'mmconvmlp', 'version.py')) as f:
        exec(f.read(), ns)
    return ns['__version__']


setup(
    name='mmconvmlp',
    version=get_version(),
    description=
    'ConvMLP backbone (Li et al. 2021) for MMDetection and MMSegmentation',
    long_description=open('README.md').read()
    if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    license='MIT',
    packages=find_packages(include=['mmconvmlp', 'mmconvmlp.*']),
    python_requires='>=3.9',
    # mmcv is not listed with a plain pin on purpose: its PyPI release is a
    # source archive that must be built against the installed torch (see
    # README).
    install_requires=[
        # 2.6: safe_globals entries as (function, 'module.name') tuples,
        # get_unsafe_globals_in_checkpoint, weights-only loading by default
        # (which the stock inferencers meet on every checkpoint).
        'torch>=2.6',
        'mmengine>=0.10.0,<1.0.0',
        'mmcv>=2.0.0,<2.2.0',
        'numpy',
    ],
    extras_require={
        'det': ['mmdet>=3.0.0,<3.4.0', 'pycocotools'],
        # mmseg imports ftfy and regex without declaring them.
        'seg': ['mmsegmentation>=1.0.0,<1.3.0', 'ftfy', 'regex'],
        'demo': ['scikit-image', 'matplotlib', 'pycocotools'],
        # ONNX export and ONNX Runtime (tools/deployment/pytorch2onnx.py):
        # wheels of 9 + 28 MB, so not in 'all'; tools/setup_env.sh adds them.
        'deploy': ['onnx>=1.15', 'onnxruntime>=1.17'],
        'tests': ['pytest'],
        'all': [
            'mmdet>=3.0.0,<3.4.0', 'mmsegmentation>=1.0.0,<1.3.0', 'ftfy',
            'regex', 'pycocotools', 'scikit-image', 'matplotlib', 'pytest'
        ],
    },
)
