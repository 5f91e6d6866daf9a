#!/usr/bin/env bash
# An emulated ARM64 board for `kdedge bench --on`: an arm64 Debian userland (debootstrap) run by qemu-user-static
# through binfmt_misc, the core kdedge pip-installed in it (aarch64 wheels: numpy, onnxruntime, pydantic...), its own
# sshd on 127.0.0.1, then, from this machine, `kdedge bench --on ssh://arm64-emulated` and a parity check of the fp32
# and int8 graphs' outputs on ARM64 against x86 (max abs difference, label agreement).
#
# Under emulation, timings are qemu's, not a board's: everything measured there is labelled "emulated".
#
# Needs root (debootstrap, chroot, mount), apt (debootstrap, qemu-user-static), network for Debian and PyPI, and a
# kernel with binfmt_misc. Reuses the userland and the virtualenv in $ARM64_BOARD_DIR when they are complete.
# Writes benchmarks/results/arm64_board.md.
#
#   bash benchmarks/arm64_board.sh            # PYTHON=... picks the workstation's Python (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${PYTHON:-$REPO/.venv/bin/python}
WORK=${ARM64_BOARD_DIR:-/tmp/kdedge-arm64-board}
ROOT=$WORK/root
RESULTS=$REPO/benchmarks/results/arm64_board.md
SUITE=bookworm  # its python3 is 3.11, as kdedge requires
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
export OMP_NUM_THREADS=1 PYTHONPATH=$REPO

say() { echo "arm64_board: $*" >&2; }
[ "$(id -u)" -eq 0 ] || { say "needs root (debootstrap, chroot, mount)"; exit 1; }
[ -x "$PY" ] || { say "no Python at $PY; set PYTHON to the workstation's kdedge Python (full install)"; exit 1; }

# -- 1. tools and binfmt_misc ---------------------------------------------------------------------------------
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
command -v ssh >/dev/null || missing+=(openssh-client)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    # F (fix binary): the kernel opens qemu now, so it also runs arm64 programs inside the chroot
    say "registering qemu-aarch64 with binfmt_misc"
    cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
fi
grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 || { say "qemu-aarch64 is registered without the F flag"; exit 1; }

# -- 2. the arm64 userland ------------------------------------------------------------------------------------
mkdir -p "$WORK"
if [ ! -e "$ROOT/.kdedge-debootstrap-done" ]; then
    say "debootstrap $SUITE arm64 into $ROOT (emulated second stage: minutes)"
    rm -rf "$ROOT"
    started=$SECONDS
    debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,openssh-server,ca-certificates \
        "$SUITE" "$ROOT" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log"; exit 1; }
    echo "$((SECONDS - started))" > "$ROOT/.kdedge-debootstrap-done"
fi

mounted=()
sshd_pid=""
cleanup() {
    [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null || true
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true; done
}
trap cleanup EXIT
# no /sys: with it, onnxruntime's cpuinfo reads the host's CPU lists and segfaults under qemu-user (7.2); without
# it, onnxruntime warns "cpuinfo_initialize failed ... undetected CPU features" and runs
for fs in proc dev; do
    if ! mountpoint -q "$ROOT/$fs"; then
        if [ "$fs" = proc ]; then mount -t proc proc "$ROOT/proc"; else mount --bind /dev "$ROOT/dev"; fi
        mounted+=("$ROOT/$fs")
    fi
done
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
in_board() { chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin "$@"; }
say "the board says: $(in_board uname -m), $(in_board python3 --version)"

# -- 3. the core kdedge, pip-installed on the board -----------------------------------------------------------
key=$(cd "$REPO" && cat pyproject.toml constraints.txt $(find kdedge -type f ! -path '*__pycache__*' | sort) | sha256sum | cut -c1-16)
if [ "$(cat "$ROOT/opt/kd/.kdedge-source" 2>/dev/null)" != "$key" ]; then
    say "pip-installing the core kdedge (this checkout) into /opt/kd on the board (emulated: minutes)"
    rm -rf "$ROOT/opt/kd" "$ROOT/opt/kdedge-src" "$WORK/src" "$WORK/wheel"
    mkdir -p "$WORK/src" "$ROOT/opt/kdedge-src"
    cp "$REPO/pyproject.toml" "$REPO/README.md" "$WORK/src/"
    (cd "$REPO" && tar --exclude=__pycache__ -cf - kdedge) | tar -C "$WORK/src" -xf -
    # kdedge itself is pure Python: its wheel is built here, natively; pip on the board fetches the aarch64 wheels
    "$PY" -m pip wheel -q --no-deps -w "$WORK/wheel" "$WORK/src" > "$WORK/wheel.log" 2>&1 || { cat "$WORK/wheel.log"; exit 1; }
    cp "$WORK"/wheel/kdedge-*.whl "$REPO/constraints.txt" "$ROOT/opt/kdedge-src/"
    # the board trusts the CAs this machine trusts (a proxy's included), for PyPI over HTTPS
    cp /etc/ssl/certs/ca-certificates.crt "$ROOT/opt/kdedge-src/ca-certificates.crt"
    started=$SECONDS
    in_board python3 -m venv /opt/kd
    in_board /opt/kd/bin/pip install -q --disable-pip-version-check --cert /opt/kdedge-src/ca-certificates.crt \
        -c /opt/kdedge-src/constraints.txt "$(cd "$ROOT" && ls opt/kdedge-src/kdedge-*.whl | sed 's|^|/|')"
    echo "$((SECONDS - started))" > "$WORK/pip-seconds"
    echo "$key" > "$ROOT/opt/kd/.kdedge-source"
fi
board_versions=$(in_board /opt/kd/bin/python -c "import numpy, onnxruntime, kdedge, platform; print(f'kdedge {kdedge.__version__}, numpy {numpy.__version__}, onnxruntime {onnxruntime.__version__}, Python {platform.python_version()} on {platform.machine()}')")
say "board install: $board_versions"
if in_board /opt/kd/bin/python -c "import torch" 2>/dev/null; then say "torch is on the board; it should not be"; exit 1; fi

# -- 4. sshd on the board -------------------------------------------------------------------------------------
port=$("$PY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
[ -e "$WORK/id" ] || ssh-keygen -q -t ed25519 -N "" -f "$WORK/id"
in_board ssh-keygen -A >/dev/null
mkdir -p "$ROOT/root/.ssh" "$ROOT/run/sshd"
cp "$WORK/id.pub" "$ROOT/root/.ssh/authorized_keys"
chmod 700 "$ROOT/root/.ssh"
chmod 600 "$ROOT/root/.ssh/authorized_keys"
cat > "$ROOT/etc/ssh/sshd_config.kdedge" <<EOF
Port $port
ListenAddress 127.0.0.1
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PidFile /run/sshd-kdedge.pid
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
: > "$WORK/known_hosts"
cat > "$WORK/ssh_config" <<EOF
Host arm64-emulated
  HostName 127.0.0.1
  Port $port
  User root
  IdentityFile $WORK/id
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile $WORK/known_hosts
  GlobalKnownHostsFile /dev/null
EOF
# not through in_board: a function would run in a subshell, and $! would be that subshell, not sshd (chroot and env
# exec, so this $! is sshd's own pid)
chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/bin:/bin:/usr/sbin:/sbin \
    /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config.kdedge 2> "$WORK/sshd.log" &
sshd_pid=$!
for _ in $(seq 1 300); do
    "$PY" -c "import socket, sys; sys.exit(socket.socket().connect_ex(('127.0.0.1', $port)))" && break
    kill -0 "$sshd_pid" 2>/dev/null || { say "sshd on the board exited: $(cat "$WORK/sshd.log")"; exit 1; }
    sleep 0.2
done
say "the board's sshd listens on 127.0.0.1:$port"

# -- 5. runs made here (x86), benched there -------------------------------------------------------------------
kdedge() { "$PY" -m kdedge.cli "$@"; }
RUNS=$WORK/runs
if [ ! -e "$RUNS/mlp/model.int8.onnx" ] || [ ! -e "$RUNS/teacher/model.int8.onnx" ]; then
    rm -rf "$RUNS"
    kdedge -q teacher train --data digits --epochs 15 --seed 0 --out "$RUNS/teacher"
    kdedge -q distill --teacher "$RUNS/teacher" --student mlp --epochs 30 --seed 0 --out "$RUNS/mlp"
    for run in teacher mlp; do
        kdedge -q export "$RUNS/$run" --target cpu-int8-static --keep-slower-int8
    done
fi
rm -rf "$RUNS"/*/devices
on=(--on ssh://arm64-emulated --ssh-config "$WORK/ssh_config" --board-kdedge /opt/kd/bin/kdedge)
say "kdedge bench --on ssh://arm64-emulated (first contact: --accept-new-host)"
started=$SECONDS
kdedge bench "$RUNS/mlp" "$RUNS/teacher" "${on[@]}" --accept-new-host --min-runs 20 --min-seconds 0.2 \
    | tee "$WORK/bench.txt"
bench_seconds=$((SECONDS - started))

# -- 6. parity: the same graphs' outputs on the test split, x86 here and ARM64 there -------------------------
PARITY=$ROOT/tmp/kdedge-parity
rm -rf "$PARITY" && mkdir -p "$PARITY"
cat > "$PARITY/outputs.py" <<'EOF'
"""Every graph's scores and labels on the test split, one thread, to OUT/NAME.npz."""
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

folder, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(exist_ok=True)
x = np.load(folder / "x.npy")
options = ort.SessionOptions()
options.intra_op_num_threads = options.inter_op_num_threads = 1
for graph in sorted(folder.glob("*.onnx")):
    session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
    scores, labels = session.run(["scores", "label"], {session.get_inputs()[0].name: x})
    np.savez(out / f"{graph.stem}.npz", scores=scores, labels=labels)
EOF
"$PY" - "$RUNS" "$PARITY" <<'EOF'
import shutil, sys
from pathlib import Path
import numpy as np
from kdedge.runs import Run
runs, parity = Path(sys.argv[1]), Path(sys.argv[2])
x, _ = Run.load(runs / "teacher").dataset().split("test")
np.save(parity / "x.npy", x)
for run in ("teacher", "mlp"):
    for name, tag in (("model.onnx", "fp32"), ("model.int8.onnx", "int8")):
        shutil.copyfile(runs / run / name, parity / f"{run}-{tag}.onnx")
EOF
"$PY" "$PARITY/outputs.py" "$PARITY" "$PARITY/x86"
ssh -F "$WORK/ssh_config" -o BatchMode=yes arm64-emulated \
    /opt/kd/bin/python /tmp/kdedge-parity/outputs.py /tmp/kdedge-parity /tmp/kdedge-parity/arm64
parity=$("$PY" - "$PARITY" <<'EOF'
import sys
from pathlib import Path
import numpy as np
parity = Path(sys.argv[1])
print("| graph | test samples | max abs diff of scores, ARM64 vs x86 | labels agreeing |")
print("| --- | --- | --- | --- |")
for x86 in sorted((parity / "x86").glob("*.npz")):
    a, b = np.load(x86), np.load(parity / "arm64" / x86.name)
    diff = float(np.max(np.abs(a["scores"].astype(np.float64) - b["scores"])))
    agree = float(np.mean(a["labels"] == b["labels"]))
    print(f"| {x86.stem} | {len(a['labels'])} | {diff:.3g} | {100 * agree:.2f} % |")
EOF
)
echo "$parity"

# -- 7. results -----------------------------------------------------------------------------------------------
host="$(uname -m), $(getconf _NPROCESSORS_ONLN) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(qemu-aarch64-static --version | head -1)"
{
    echo "# An emulated ARM64 board — \`benchmarks/arm64_board.sh\`"
    echo
    echo "Made by \`bash benchmarks/arm64_board.sh\` on $(date -u +%Y-%m-%d), host: $host."
    echo "The board is Debian $SUITE arm64 (debootstrap: $(cat "$ROOT/.kdedge-debootstrap-done") s) run by qemu-user-static;"
    echo "pip installed the core kdedge from this checkout on it ($(cat "$WORK/pip-seconds") s, aarch64 wheels from PyPI):"
    echo "$board_versions. No torch there."
    echo
    echo "## Parity: the same ONNX graphs on ARM64 (emulated) and x86, digits test split, one thread"
    echo
    echo "$parity"
    echo
    echo "## \`kdedge bench --on ssh://arm64-emulated\` ($bench_seconds s) — EMULATED timings, not a board's speed"
    echo
    echo "qemu translates every ARM64 instruction on the x86 host: the latency and memory below measure that"
    echo "translation, not any ARM64 CPU. They show the path works end to end (copy, the board's own bench, the"
    echo "table titled with the device, the figures kept in the runs); accuracy and agreement are exact."
    echo
    echo '```'
    sed 's/[[:space:]]*$//' "$WORK/bench.txt"
    echo '```'
} > "$RESULTS"
say "wrote $RESULTS"
