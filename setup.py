"""Packaging for sfmm. Exact pins for the reproducible environment live in
requirements/*.txt and are installed by tools/setup_env.sh; here only lower bounds."""
import os.path as osp

from setuptools import find_packages, setup


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(osp.dirname(__file__), 'sfmm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='sfmm',
    version=read_version(),
    description='SparseFormers bootstrapped from vision foundation models, on OpenMMLab',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(include=['sfmm', 'sfmm.*']),
    include_package_data=True,
    install_requires=[
        'torch>=2.1',
        'mmengine>=0.10.0',
        'mmcv>=2.0.0,<2.2.0',
        'mmpretrain>=1.2.0',
        'mmsegmentation>=1.2.0',
        'open_clip_torch>=2.20',
        'timm>=0.9',
        'fvcore',
        'ftfy',
        'regex',
    ],
    extras_require={'tests': ['pytest']},
    zip_safe=False,
)
