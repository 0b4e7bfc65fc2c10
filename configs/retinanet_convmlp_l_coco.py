# RetinaNet with a ConvMLP-L backbone on COCO. Paper: 52.9 M parameters, 40.2
# box AP.
_base_ = ['./retinanet_convmlp_s_coco.py']

model = dict(
    backbone=dict(
        arch='l',
        init_cfg=dict(
            # If this URL is gone, the authors' mirror has the same file
            # in http://ix.cs.uoregon.edu/~alih/conv-mlp/checkpoints/
            checkpoint='https://shi-labs.com/projects/convmlp/checkpoints/'
            'convmlp_l_imagenet.pth')),
    neck=dict(in_channels=[96, 192, 384, 768]))
