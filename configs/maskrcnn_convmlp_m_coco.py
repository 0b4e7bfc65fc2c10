# Mask R-CNN with a ConvMLP-M backbone on COCO. Paper: 37.1 M parameters,
# 40.6 box AP / 37.2 mask AP.
_base_ = ['./maskrcnn_convmlp_s_coco.py']

model = dict(
    backbone=dict(
        arch='m',
        init_cfg=dict(
            # If this URL is gone, the authors' mirror has the same file
            # in http://ix.cs.uoregon.edu/~alih/conv-mlp/checkpoints/
            checkpoint='https://shi-labs.com/projects/convmlp/checkpoints/'
            'convmlp_m_imagenet.pth')))
