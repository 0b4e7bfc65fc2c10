# Mask R-CNN-ConvMLP-S on mnfinder's nuclei (tools/dataset_converters/
# mnfinder2coco.py): trained from scratch on its training split, tested on its
# 16 test pictures, whole (bbox and segm AP). The nuclei config with another
# dataset: where it is and its objects' size (the scale follows by the rule
# of _base_/nuclei.py); `make demo DATA=mnfinder MODEL=maskrcnn`.
_base_ = ['./maskrcnn_convmlp_s_nuclei.py']

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
        ann_file='annotations/instances_test.json',
        data_prefix=dict(img='images/test/'),
        pipeline=test_pipeline))
val_evaluator = test_evaluator = dict(ann_file=data_root +
                                      'annotations/instances_test.json')
