#!/usr/bin/env bash
# The CUDA paths, in under 10 minutes on one GPU: the built-in teacher trained with --device cuda (bfloat16 autocast
# in the training loop), an online-KD CNN student (the teacher labels every batch's fresh views) on CUDA, and the
# same student under DDP: one NCCL rank per GPU when there are two or more; with a single GPU two gloo ranks on the
# CPU (each DDP rank takes the GPU of its LOCAL_RANK, and NCCL refuses two ranks on one GPU). Prints one JSON line
# of figures per run. Run it on a machine with a GPU and a CUDA build of torch:
#     bash scripts/gpu_check.sh                       # Fashion-MNIST if benchmarks/data/fashion exists, else digits-shift
#     DATA=path/train.npz bash scripts/gpu_check.sh
# CI never runs it (no GPU there); tests that need CUDA skip with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
KDEDGE=${KDEDGE:-.venv/bin/kdedge}
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3)"; then
    echo "gpu_check: torch $("$PY" -c 'import torch; print(torch.__version__)') sees no CUDA device; run this on a machine with a GPU and a CUDA build of torch" >&2
    exit 2
fi
DATA=${DATA:-benchmarks/data/fashion/train.npz}
[ -f "$DATA" ] || DATA=digits-shift
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$PY" -c "import torch; print('gpu_check:', torch.cuda.get_device_name(0), 'torch', torch.__version__, 'data', '$DATA')"
STUDENT=(--student cnn --channels 16,32,64 --pool-after 1,2 --method kd --temperature 1 --alpha 1
         --transfer shift+mixup --teacher-mode online --schedule cosine --warmup-epochs 2 --lr 0.003
         --batch-size 128 --epochs 20 --patience 20 --device cuda)
"$KDEDGE" teacher train --data "$DATA" --device cuda --epochs "${TEACHER_EPOCHS:-30}" --patience 30 --out "$OUT/teacher" --json > "$OUT/teacher.json"
"$KDEDGE" distill --teacher "$OUT/teacher" "${STUDENT[@]}" --out "$OUT/cnn" --json > "$OUT/cnn.json"
GPUS=$("$PY" -c "import torch; print(torch.cuda.device_count())")
if [ "$GPUS" -ge 2 ]; then DDP=(--nproc "$GPUS" --device cuda); else DDP=(--nproc 2 --device cpu); fi
"$KDEDGE" distill --teacher "$OUT/teacher" "${STUDENT[@]}" --epochs 2 --patience 2 "${DDP[@]}" --out "$OUT/ddp" --json > "$OUT/ddp.json"
for run in teacher cnn ddp; do
    "$PY" - "$OUT/$run" <<'PY'
import json, sys
from pathlib import Path
m = json.loads((Path(sys.argv[1]) / "kdedge.json").read_text())
keep = {k: m["metrics"].get(k) for k in ("test_accuracy", "train_seconds", "epochs_run", "best_epoch")}
print(json.dumps({"run": Path(sys.argv[1]).name, "device": m["compute"].get("device"), **keep}))
PY
done
