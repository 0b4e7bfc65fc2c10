# Semantic FPN-ConvMLP-S on mnfinder's nuclei (tools/dataset_converters/
# mnfinder2coco.py): trained from scratch on its training split, tested on its
# 16 test pictures, whole (mIoU, nucleus IoU). The nuclei config with another
# dataset: where it is and its objects' size (the scale follows by the rule);
# `make demo DATA=mnfinder MODEL=semfpn`.
_base_ = ['./fpn_convmlp_s_nuclei.py']

data_root = 'data/mnfinder/'
object_size = 31.5  # median box side in source pixels
scale = _base_.target_size / object_size
train_pipeline = [
    dict(s, scale_factor=scale) if s.type == 'Resize' else s
    for s in _base_.train_pipeline
]
test_pipeline = [
    dict(s, scale_factor=scale) if s.type == 'Resize' else s
    for s in _base_.test_pipeline
]
train_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = test_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        data_prefix=dict(img_path='images/test', seg_map_path='labels/test'),
        pipeline=test_pipeline))
