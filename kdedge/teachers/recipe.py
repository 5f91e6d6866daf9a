"""How a built-in teacher is trained when the user leaves options out: one decision, from the data's layout and size.

The rows live in `kdedge.defaults.TEACHER_RECIPES` (with the benchmarks behind them); this module applies one to a
data set and the options the user gave, and says in one line what it chose. The user's options always win.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import OptionError

# Options of the `cnn` architecture only: dropped from a recipe when --arch picks another net.
CNN_ONLY = ("channels", "convs", "pool_after")


@dataclass
class TeacherPlan:
    arch: str
    options: dict  # family, method (label_smoothing) and transfer (teacher_mode, max_shift) options, routed later
    transfer: str
    record: dict  # what the run keeps: the recipe's name, when it applies, and what it chose for the user

    def line(self) -> str:
        chose, layout = self.record["chose"], self.record.get("arch_from_layout")
        if not chose and not layout:
            return ""
        head = f"teacher: {self.arch}" + (f" from the data's layout ({layout}s); --arch to choose" if layout else "")
        if not chose:
            return head
        parts = ", ".join(f"--{k.replace('_', '-')} {_text(v)}" for k, v in chose.items())
        return f"{head}; {parts}: the default for {self.record['when']}"


def _text(value) -> str:
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return str(value)


def teacher_arch(arch: str | None, layout: str) -> str:
    """`arch` checked against the built-in teachers, or the one for this data layout."""
    from ..defaults import TEACHER_ARCH_BY_LAYOUT, TEACHER_ARCHES

    if arch is None:
        return TEACHER_ARCH_BY_LAYOUT[layout]
    if arch not in TEACHER_ARCHES:
        raise OptionError(f"--arch {arch!r}: choose from {', '.join(TEACHER_ARCHES)}")
    if arch != "mlp" and layout == "vector":
        raise OptionError(f"--arch {arch} needs images or sequences; these data are vectors: use --arch mlp")
    return arch


def plan_teacher(arch: str | None, dataset, augment: str | None, given: dict) -> TeacherPlan:
    from ..defaults import TEACHER_ARCH_OPTIONS, TEACHER_AUGMENTS, teacher_max_shift, teacher_recipe

    given = {k: v for k, v in given.items() if v is not None}
    recipe = teacher_recipe(dataset.layout, len(dataset.train_idx))
    chosen_arch = teacher_arch(arch if arch is not None else recipe["arch"], dataset.layout)
    defaults = dict(recipe["options"])
    if chosen_arch != "cnn":
        defaults = {k: v for k, v in defaults.items() if k not in CNN_ONLY}
    defaults.update(TEACHER_ARCH_OPTIONS.get(chosen_arch, {}))
    how = augment if augment is not None else recipe["augment"]
    if how not in TEACHER_AUGMENTS:
        raise OptionError(f"--augment {how!r}: choose from {', '.join(TEACHER_AUGMENTS)}")
    transfer = "train"
    if how == "shift":
        if dataset.layout == "vector":
            raise OptionError("--augment shift needs images or sequences; these data are vectors: use --augment none")
        transfer = "shift"
        defaults.update(teacher_mode="online", max_shift=teacher_max_shift(dataset.sample_shape))
    elif "max_shift" in given:
        raise OptionError("--max-shift sets the teacher's shifts; it needs --augment shift")
    chose = {k: v for k, v in defaults.items() if k not in given}
    if augment is None:
        chose = {"augment": how, **chose}
    record = {"recipe": f"teacher/{recipe['name']}", "when": recipe["when"], "chose": chose}
    if arch is None:
        record["arch_from_layout"] = dataset.layout
    return TeacherPlan(chosen_arch, {**defaults, **given}, transfer, record)
