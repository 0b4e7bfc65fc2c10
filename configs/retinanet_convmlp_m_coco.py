# RetinaNet with a ConvMLP-M backbone on COCO. Paper: 27.1 M parameters, 39.4
# box AP.
_base_ = ['./retinanet_convmlp_s_coco.py']

model = dict(
    backbone=dict(
        arch='m',
        init_cfg=dict(
            # If this URL is gone, the authors' mirror has the same file
            # in http://ix.cs.uoregon.edu/~alih/conv-mlp/checkpoints/
            checkpoint='https://shi-labs.com/projects/convmlp/checkpoints/'
            'convmlp_m_imagenet.pth')))
