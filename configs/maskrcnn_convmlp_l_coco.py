# Mask R-CNN with a ConvMLP-L backbone on COCO. Paper: 62.2 M parameters,
# 41.7 box AP / 38.2 mask AP.
_base_ = ['./maskrcnn_convmlp_s_coco.py']

model = dict(
    backbone=dict(
        arch='l',
        init_cfg=dict(
            # If this URL is gone, the authors' mirror has the same file
            # in http://ix.cs.uoregon.edu/~alih/conv-mlp/checkpoints/
            checkpoint='https://shi-labs.com/projects/convmlp/checkpoints/'
            'convmlp_l_imagenet.pth')),
    neck=dict(in_channels=[96, 192, 384, 768]))
