"""Run a C export on an emulated Cortex-M4 and check its labels against the ONNX graph:

    python -m kdedge.convert.c.qemu RUN [--samples 300]        (or: make mcu-check RUN=runs/mlp)

The pair in RUN/c/ is cross-compiled (arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os, hard float) into a bare-metal
firmware for QEMU's `mps2-an386` board (Cortex-M4): a vector table, a linker script for its memory map, newlib's
semihosting runtime (rdimon), so the firmware reads test rows from a host file and writes its labels back. QEMU
gives no per-inference instruction count without its TCG plugins, which Debian's build does not ship.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ...c_variants import VARIANTS
from ...errors import ExportError
from .mcu import CPUS, GCC

QEMU = "qemu-system-arm"
MACHINE = "mps2-an386"  # ARM MPS2 with the AN386 FPGA image: a Cortex-M4 with FPU

LINKER_SCRIPT = """
MEMORY {
  FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 4M
  RAM (rwx)  : ORIGIN = 0x20000000, LENGTH = 4M
}
ENTRY(Reset_Handler)
SECTIONS {
  .text : { KEEP(*(.vectors)) *(.text*) *(.rodata*) KEEP(*(.init)) KEEP(*(.fini)) . = ALIGN(4); } > FLASH
  .ARM.exidx : { *(.ARM.exidx*) } > FLASH
  __etext = .;
  .data : AT(__etext) { __data_start__ = .; *(.data*) . = ALIGN(4); __data_end__ = .; } > RAM
  .bss : { __bss_start__ = .; *(.bss*) *(COMMON) . = ALIGN(4); __bss_end__ = .; } > RAM
  end = .; _end = .; __end__ = .;
  __HeapLimit = ORIGIN(RAM) + LENGTH(RAM) - 0x10000;
  __StackTop = ORIGIN(RAM) + LENGTH(RAM);
  __stack = __StackTop;
}
"""

STARTUP_C = """
#include <stdint.h>
#include <string.h>
extern uint32_t __etext, __data_start__, __data_end__, __StackTop;
extern void _start(void);
void _init(void) {}
void _fini(void) {}
void Reset_Handler(void) {
  memcpy(&__data_start__, &__etext, (char *)&__data_end__ - (char *)&__data_start__);
  *(volatile uint32_t *)0xE000ED88 |= (0xFu << 20); /* CPACR: enable the FPU before any float instruction */
  __asm volatile ("dsb; isb");
  _start(); /* newlib's crt0 (rdimon): zeroes .bss, opens semihosting, calls main, exits QEMU */
  for (;;) {}
}
void Default_Handler(void) { for (;;) {} }
__attribute__((section(".vectors"), used)) static const void *vectors[16] = {
  &__StackTop, Reset_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
  0, 0, 0, 0, Default_Handler, Default_Handler, 0, Default_Handler, Default_Handler,
};
"""

MAIN_C = """
#include <stdint.h>
#include <stdio.h>
#include HEADER
int main(void) {
  FILE *in = fopen("rows.f32", "rb"), *out = fopen("labels.i32", "wb");
  if (!in || !out) { printf("cannot open rows.f32 / labels.i32 through semihosting\\n"); return 1; }
  static float x[N_FEATURES], scores[N_CLASSES];
  while (fread(x, sizeof(float), N_FEATURES, in) == N_FEATURES) {
    int32_t label = PREDICT(x, scores);
    fwrite(&label, sizeof(int32_t), 1, out);
  }
  fclose(out);
  return 0;
}
"""


def missing_tools() -> str | None:
    absent = [tool for tool in (GCC, QEMU) if shutil.which(tool) is None]
    if not absent:
        return None
    return f"{', '.join(absent)} not installed; install with scripts/install-system-deps.sh"


def run_on_qemu(run_path, samples: int = 300, timeout: float = 600.0, precision: str = "fp32") -> dict:
    """Labels of the first `samples` test rows from the firmware built from the run's `precision` C export on QEMU,
    compared with RUN/model.onnx (an int8 C export is also compared with its own integer arithmetic)."""
    from ...runs import Run
    from ..parity import run_onnx

    missing = missing_tools()
    if missing:
        raise ExportError(missing)
    run = Run.load(run_path)
    variant = VARIANTS[precision]
    info, folder = getattr(run.manifest, variant.record), run.path / variant.folder
    if not info or not (folder / f"{info['prefix']}.c").is_file():
        target = "c" if precision == "fp32" else f"c-{precision}"
        raise ExportError(
            f"{run.path}: no {precision} C export; run 'kdedge export {run.path} --target {target}' first"
        )
    x, _ = run.dataset().split("test")
    x = np.ascontiguousarray(x[:samples], np.float32)  # (n, *sample_shape): the graph's input; rows for the board
    with tempfile.TemporaryDirectory(prefix="kdedge-qemu-") as tmp:
        work = Path(tmp)
        for name, text in (("mps2.ld", LINKER_SCRIPT), ("startup.c", STARTUP_C), ("main.c", MAIN_C)):
            (work / name).write_text(text)
        flags = [*CPUS["cortex-m4"], "-std=c99", "-Os"]
        crt0 = subprocess.run([GCC, *flags, "-print-file-name=rdimon-crt0.o"], capture_output=True, text=True)
        prefix = info["prefix"]
        command = [
            GCC, *flags, "--specs=rdimon.specs", "-nostartfiles", "-T", str(work / "mps2.ld"),
            f'-DHEADER="{prefix}.h"', f"-DPREDICT={prefix}_predict", f"-DN_FEATURES={info['n_features']}",
            f"-DN_CLASSES={info['n_classes']}", f"-I{folder}",
            str(work / "startup.c"), str(work / "main.c"), str(folder / f"{prefix}.c"),
            crt0.stdout.strip(), "-o", str(work / "firmware.elf"), "-lm",
        ]  # fmt: skip
        built = subprocess.run(command, capture_output=True, text=True)
        if built.returncode != 0:
            raise ExportError(f"{run.path}: building the QEMU firmware failed: {built.stderr.strip()[-300:]}")
        x.tofile(work / "rows.f32")
        emulated = subprocess.run(
            [QEMU, "-M", MACHINE, "-nographic", "-monitor", "none", "-serial", "none",
             "-semihosting-config", "enable=on,target=native", "-kernel", str(work / "firmware.elf")],
            cwd=work, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        labels_file = work / "labels.i32"
        if emulated.returncode != 0 or not labels_file.is_file():
            raise ExportError(f"{run.path}: the firmware failed on QEMU {MACHINE}: {emulated.stdout.strip()[-300:]}")
        labels = np.fromfile(labels_file, np.int32).astype(np.int64)
    _, reference = run_onnx(run.onnx_path.read_bytes(), x)
    if len(labels) != len(x):
        raise ExportError(f"{run.path}: the firmware wrote {len(labels)} labels for {len(x)} rows")
    found = {
        "machine": MACHINE,
        "precision": precision,
        "samples": int(len(x)),
        "label_agreement": float(np.mean(labels == reference)),
    }
    if precision != "fp32":  # int8 may change a few labels against the fp32 graph, never against its own arithmetic
        from ...students import load_student
        from . import c_core, reference_outputs

        core = c_core(run, load_student(run), precision, info["target"]["calibration_size"])
        found["reference_agreement"] = float(np.mean(labels == reference_outputs(core, x)[1]))
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run RUN/c/ (or c-int8/) on an emulated Cortex-M4 (QEMU)")
    parser.add_argument("run", type=Path)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--int8", action="store_true", help="run RUN/c-int8/ (kdedge export RUN --target c-int8)")
    args = parser.parse_args(argv)
    try:
        found = run_on_qemu(args.run, args.samples, precision="int8" if args.int8 else "fp32")
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # what must hold: fp32 C gives the graph's labels; int8 C gives its own integer arithmetic's
    exact = found.get("reference_agreement", found["label_agreement"])
    own = f", {exact:.2%} equal to kdedge's int8 arithmetic" if "reference_agreement" in found else ""
    print(
        f"{args.run}: {found['samples']} test samples on QEMU {found['machine']} (Cortex-M4, {found['precision']} C): "
        f"labels {found['label_agreement']:.2%} equal to model.onnx{own}"
    )
    return 0 if exact == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
