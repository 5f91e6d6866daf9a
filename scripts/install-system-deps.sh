#!/usr/bin/env bash
# System packages kdedge's tests use beyond Python: the Arm cross-compiler that measures a C student's flash and
# RAM on a Cortex-M (`kdedge export RUN --target mcu-cortex-m4`), QEMU, which runs it on an emulated Cortex-M4
# (`make mcu-check`), Chromium, in which a test opens the HTML report headless, and OpenSSH's server, which plays a
# board on 127.0.0.1 for `kdedge bench --on ssh://...` (tests/test_board_ssh.py). Idempotent: installs only what
# is missing, so CI and developers can run it every time. Needs root (or sudo) and Debian/Ubuntu's apt.
set -euo pipefail

missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v arm-none-eabi-gcc >/dev/null 2>&1 || missing+=(gcc-arm-none-eabi)
[ -d /usr/lib/arm-none-eabi/newlib ] || [ -d /usr/lib/arm-none-eabi/lib ] || missing+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null 2>&1 || missing+=(qemu-system-arm)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)  # the report's headless-browser test
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)  # the loopback board of the `bench --on` tests
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: no apt-get here; install ${missing[*]} with this system's package manager" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-system-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
