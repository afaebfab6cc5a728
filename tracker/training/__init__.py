"""Self-supervised training of the appearance embedder (no labels are read).

* :mod:`tracker.training.linking` - unambiguous IoU links between consecutive frames ->
  tracklets (the source of temporal positives);
* :mod:`tracker.training.data` - crops of public detections cut from videos, cached on disk;
* :mod:`tracker.training.queue` - the FIFO memory bank of momentum-encoder embeddings;
* :mod:`tracker.training.mining` - hard-negative mining;
* :mod:`tracker.training.contrastive` - the MoCo-style InfoNCE training loop, checkpoints;
* :mod:`tracker.training.cuts` - hard shot cuts (no positive pair crosses one);
* :mod:`tracker.training.clips` - the embedded detector on sampled frames of a video without
  a detection file, cached;
* :mod:`tracker.training.tracklets` - tracklets from the tracker, kept where confident;
* :mod:`tracker.training.unlabeled` - the unlabeled clip collection's ``SOURCES.tsv``;
* :mod:`tracker.training.adapt` - fine-tuning the embedder on one video's own tracks.
"""
