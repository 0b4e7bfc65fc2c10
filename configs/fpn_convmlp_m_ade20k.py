# Semantic FPN with a ConvMLP-M backbone on ADE20K. Paper: 21.1 M parameters,
# 38.6 mIoU.
_base_ = ['./fpn_convmlp_s_ade20k.py']

model = dict(
    backbone=dict(
        arch='m',
        init_cfg=dict(
            # If this URL is gone, the authors' mirror has the same file
            # in http://ix.cs.uoregon.edu/~alih/conv-mlp/checkpoints/
            checkpoint='https://shi-labs.com/projects/convmlp/checkpoints/'
            'convmlp_m_imagenet.pth')))
