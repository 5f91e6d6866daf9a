"""What `kdedge distill` teaches with when the user leaves --method and --transfer out: the row of
`kdedge.defaults.STUDENT_RECIPES` for the data's layout and the student's family, said in one line and recorded."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StudentPlan:
    method: str
    transfer: str
    options: dict  # the user's options on top of the recipe's
    record: dict | None  # what was chosen and why (the run's `defaults`); None when the user chose
    baseline: bool  # also train the hard-label twin
    select: bool = False  # and keep it where it did better on val

    def line(self) -> str | None:
        if self.record is None:
            return None
        chose = self.record["chose"]
        parts = ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in chose.items())
        tail = "; the same student on labels trains beside it (RUN/baseline)" if self.baseline else ""
        if self.select:
            tail = "; the same student on labels trains beside it, and the better on val is kept"
        return (
            f"teaching: {parts} — the default for {self.record['when']} ({self.record['evidence']}); "
            f"--method/--transfer to choose your own{tail}"
        )


def plan_student(
    family: str, layout: str, method, transfer, options: dict, has_teacher: bool, baseline, n_train: int = 0
) -> StudentPlan:
    """The recipe's method, transfer set and options under the user's own student options (--hidden, --epochs...),
    where the user chose no --method, --transfer or option of either and there is a teacher; otherwise what was
    given (kd on the training split when left out)."""
    from ..defaults import student_recipe

    given = {k: v for k, v in options.items() if v is not None}
    recipe = student_recipe(layout, family, n_train)
    if method is not None or transfer is not None or not has_teacher or recipe is None or _teaching(family, given):
        return StudentPlan(method or "kd", transfer or "train", given, None, bool(baseline))
    defaults = dict(recipe["options"])
    if family in recipe["epochs"]:
        defaults.update(epochs=recipe["epochs"][family], patience=recipe["epochs"][family])
    chose = {"method": recipe["method"], "transfer": recipe["transfer"]}
    chose.update({k: v for k, v in defaults.items() if k not in given})
    record = {"recipe": f"student/{recipe['name']}", "when": recipe["when"], "evidence": recipe["evidence"],
              "chose": chose}  # fmt: skip
    select = recipe["baseline"] == "select" and baseline is not False
    wants_baseline = bool(recipe["baseline"]) if baseline is None else bool(baseline)
    return StudentPlan(recipe["method"], recipe["transfer"], {**defaults, **given}, record, wants_baseline, select)


def _teaching(family: str, given: dict) -> bool:
    """Whether the user gave an option of a method or a transfer set (--temperature, --teacher-mode...): then the
    user is choosing the teaching, and none is chosen for them (the student's own options never count)."""
    from ..students import student_class

    return any(key not in student_class(family).Params.model_fields for key in given)
