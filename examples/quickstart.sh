#!/usr/bin/env bash
# The path a user types, on the built-in digits data: teacher -> students -> ONNX -> bench.
set -euo pipefail
KDEDGE=${KDEDGE:-.venv/bin/kdedge}
RUNS=${RUNS:-runs/quickstart}
$KDEDGE teacher train --data digits --out "$RUNS/teacher" --overwrite
$KDEDGE distill --teacher "$RUNS/teacher" --student mlp --method kd --temperature 4 --alpha 0.9 --out "$RUNS/mlp" --overwrite
$KDEDGE distill --teacher "$RUNS/teacher" --student tree --method logits --transfer augment --transfer-size 5x --out "$RUNS/tree" --overwrite
$KDEDGE export "$RUNS/teacher" "$RUNS/mlp" "$RUNS/tree"
$KDEDGE bench "$RUNS/mlp" "$RUNS/tree" "$RUNS/teacher" --data digits
