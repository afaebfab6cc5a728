"""Self-supervised training of the appearance embedder (no labels are read).

* :mod:`tracker.training.linking` - unambiguous IoU links between consecutive frames ->
  tracklets (the source of temporal positives);
* :mod:`tracker.training.data` - crops of public detections cut from videos, cached on disk;
* :mod:`tracker.training.queue` - the FIFO memory bank of momentum-encoder embeddings;
* :mod:`tracker.training.mining` - hard-negative mining;
* :mod:`tracker.training.contrastive` - the MoCo-style InfoNCE training loop, checkpoints.
"""
