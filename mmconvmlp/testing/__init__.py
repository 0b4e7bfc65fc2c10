"""Helpers for tests and demos: an independent port of the original ConvMLP
(the oracle of the equality tests), tiny in-memory batches, and datasets
written in the COCO 2017 and ADE20K layouts."""
