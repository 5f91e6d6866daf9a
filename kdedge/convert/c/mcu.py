"""Flash and RAM of a C student on a microcontroller: cross-compile with arm-none-eabi-gcc, link a minimal firmware
that calls the model (newlib-nano, no OS) and one that calls an empty function instead, and report the difference,
so libm / libgcc helpers the model pulls in (expf, soft-float double on a Cortex-M4) count and the C runtime does not.

flash = .text + .rodata + .data (the initial values of .data live in flash); RAM = .data + .bss + the stack of the
inference, estimated from -fstack-usage as the sum of the frames of the model's own functions (an upper bound on
the deepest call chain; library routines' frames are not in it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from ...errors import ExportError

CPUS = {
    "cortex-m4": ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
    # no FPU: float arithmetic becomes libgcc soft-float calls, which count in flash (what int8 C avoids)
    "cortex-m0plus": ("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"),
}
GCC, SIZE = "arm-none-eabi-gcc", "arm-none-eabi-size"
OPT = ("-std=c99", "-Os", "-ffunction-sections", "-fdata-sections")
LINK = ("-specs=nano.specs", "-specs=nosys.specs", "-Wl,--gc-sections")
INSTALL_HINT = (
    "install it with scripts/install-system-deps.sh (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
)

FIRMWARE_C = """
#include <stdint.h>
#include HEADER
float kdedge_input[N_FEATURES];
float kdedge_scores[N_CLASSES];
volatile int32_t kdedge_label;
#ifdef EMPTY
int32_t empty_predict(const float *input, float *scores) { (void)input; (void)scores; return 0; }
int32_t (*volatile call)(const float *, float *) = empty_predict;
#else
int32_t (*volatile call)(const float *, float *) = PREDICT;
#endif
int main(void) { kdedge_label = call(kdedge_input, kdedge_scores); return 0; }
"""


def toolchain_missing() -> str | None:
    """None when the cross-compiler is here, else one line saying how to get it."""
    if shutil.which(GCC) and shutil.which(SIZE):
        return None
    return f"{GCC} is not installed, so flash and RAM on a Cortex-M cannot be measured; {INSTALL_HINT}"


def mcu_sizes(c_file: Path, prefix: str, n_features: int, n_classes: int, cpu: str, work: Path) -> dict:
    missing = toolchain_missing()
    if missing:
        raise ExportError(missing)
    flags = [*CPUS[cpu], *OPT]
    work = Path(work)
    (work / "firmware.c").write_text(FIRMWARE_C)
    defines = [
        f'-DHEADER="{prefix}.h"',
        f"-DPREDICT={prefix}_predict",
        f"-DN_FEATURES={n_features}",
        f"-DN_CLASSES={n_classes}",
        f"-I{Path(c_file).parent}",
    ]
    model_o = work / "model.o"
    _run([GCC, *flags, "-fstack-usage", "-c", str(c_file), "-o", str(model_o)], c_file)
    stack = sum(int(m.group(1)) for m in re.finditer(r"\t(\d+)\t", model_o.with_suffix(".su").read_text()))
    sections = {}
    for name, extra in (("model", [str(model_o)]), ("empty", ["-DEMPTY"])):
        elf = work / f"{name}.elf"
        _run([GCC, *flags, *defines, str(work / "firmware.c"), *extra, *LINK, "-o", str(elf), "-lm"], c_file)
        sections[name] = _sections(elf)
    delta = {k: sections["model"].get(k, 0) - sections["empty"].get(k, 0) for k in ("text", "rodata", "data", "bss")}
    flash = delta["text"] + delta["rodata"] + delta["data"]
    static_ram = delta["data"] + delta["bss"]
    return {
        "cpu": cpu,
        "command": " ".join([GCC, *flags]),
        "sections_bytes": delta,
        "flash_bytes": flash,
        "flash_kb": flash / 1024,
        "static_ram_bytes": static_ram,
        "stack_bytes": stack,
        "ram_kb": (static_ram + stack) / 1024,
    }


def _run(command: list[str], c_file: Path) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        err = next((line for line in done.stderr.splitlines() if "error" in line), done.stderr.strip()[:300])
        raise ExportError(f"{c_file}: {GCC} failed: {err}; please report this as a bug")


def _sections(elf: Path) -> dict[str, int]:
    """Section sizes grouped as text / rodata / data / bss (arm-none-eabi-size -A, System V format)."""
    out = subprocess.run([SIZE, "-A", str(elf)], capture_output=True, text=True, check=True).stdout
    groups = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3 or not parts[1].isdigit():
            continue
        name, size = parts[0], int(parts[1])
        if name.startswith((".text", ".init", ".fini", ".ARM")):
            groups["text"] += size
        elif name.startswith(".rodata"):
            groups["rodata"] += size
        elif name.startswith((".data", ".init_array", ".fini_array")):
            groups["data"] += size
        elif name.startswith((".bss", "COMMON")):
            groups["bss"] += size
    return groups
