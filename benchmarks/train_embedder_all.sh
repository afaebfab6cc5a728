#!/bin/bash
# shipped-embedder training on everything (issue 18): unlabeled clips + all development videos (public detections, never gt)
D=../shared/data
cd "$(dirname "$0")/.."
exec nice -n 10 .venv/bin/track train --unlabeled $D/unlabeled $D/video/vtest.avi $D/video/TUD-Campus.mp4 $D/video/TUD-Stadtmitte.mp4 \
  $D/video/MOT17-09-FRCNN.mp4 --detections $D/video/vtest.det.txt $D/mot/TUD-Campus/det/det.txt \
  $D/mot/TUD-Stadtmitte/det/det.txt $D/mot/MOT17-09-FRCNN/det/det.txt \
  --steps 2400 --seed 0 --threads 1 --checkpoint-every 200 --resume --output build/embedder_all/embedder.pt
# log: docs/logs/embedder_all_train.log (progress every 200 steps); compared with the shipped model by benchmarks/embedder_shipped.py
