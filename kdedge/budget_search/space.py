"""The search space: per student family, the choices for each option, method option and transfer-set option.

Every entry is a list of choices (categorical), so a user's TOML file has the same shape as the default below and
replaces it whole: `[mlp] hidden = ["32", "64"]`, `method = ["kd"]`, `temperature = [2.0, 4.0]`, ...
Keys are routed by who declares them: method options (the chosen method's own fields), transfer-set options
(`transfer` and the chosen kind's fields: `transfer_size`, `teacher_mode`, `max_shift`, `munge_p`...) and student
options (everything else, validated by the family). A key of a method or transfer kind that was not chosen is not
asked (no temperature for `logits`, no teacher_mode for `train`), so new families, methods and transfer kinds need
no code here, only choices.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OptionError

DEFAULT_SPACE: dict[str, dict[str, list]] = {
    "mlp": {
        "hidden": ["16", "32", "64", "128", "256", "64,32", "128,64"],
        "method": ["kd", "logits"],
        "temperature": [1.0, 2.0, 4.0, 8.0],
        "alpha": [0.5, 0.9, 1.0],
        "transfer": ["train", "shift+mixup", "mixup"],  # mixup alone also works on vectors
        "teacher_mode": ["online"],
        "schedule": ["constant", "cosine"],
    },
    "cnn": {
        "channels": ["8,16,16", "16,32,32", "32,64,64"],
        "method": ["kd"],
        "temperature": [1.0, 4.0],
        "alpha": [0.9, 1.0],
        "transfer": ["train", "shift+mixup"],  # shift+mixup online: Beyer et al.'s function matching
        "teacher_mode": ["online"],
        "schedule": ["constant", "cosine"],
    },
    "resnet": {
        "depth": [8, 14],
        "width": [4, 8, 16],
        "method": ["kd"],
        "temperature": [2.0, 4.0],
        "alpha": [0.9],
    },
    "svm": {
        "features": ["raw", "spectrum"],  # spectrum: images and sequences only (see fit_to_data)
        "kernel": ["rbf", "linear"],
        "C": [0.1, 1.0, 10.0, 100.0],
        "method": ["logits", "softmax"],
        "temperature": [1.0, 50.0, 100.0],
    },
    "forest": {
        "features": ["raw", "spectrum"],  # spectrum: images and sequences only (see fit_to_data)
        "n_estimators": [10, 30, 100],
        "max_depth": [4, 8, 16],
        "method": ["logits", "softmax"],
        "temperature": [1.0, 100.0],
        "transfer": ["train", "augment"],  # augment at its default 5x: `train` takes no size
    },
    "gbdt": {
        "features": ["raw", "spectrum"],  # spectrum: images and sequences only (see fit_to_data)
        "num_leaves": [4, 8, 16],
        "n_estimators": [50, 100, 200],
        "learning_rate": [0.05, 0.1],
        "method": ["kd", "logits", "softmax"],  # kd: one booster on the teacher's distribution
        "temperature": [1.0, 100.0],
    },
    "tree": {
        "features": ["raw", "spectrum"],  # spectrum: images and sequences only (see fit_to_data)
        "max_depth": [6, 8, 10, 14],
        "method": ["logits", "softmax"],
        "temperature": [1.0, 100.0],
        "transfer": ["augment", "munge"],
        "transfer_size": ["5x", "10x"],
    },
}


@dataclass
class Candidate:
    """One point of the space: a family, method and transfer kind, and flat options for `kdedge.options.route`."""

    family: str
    method: str = "kd"
    transfer: str = "train"
    options: dict = field(default_factory=dict)

    def describe(self) -> str:
        parts = [self.family, self.method] + ([] if self.transfer == "train" else [f"transfer={self.transfer}"])
        return " ".join(parts + [f"{k}={v}" for k, v in self.options.items()])


def load_space(path: str | Path | None, families: list[str] | None) -> dict[str, dict[str, list]]:
    """The default space or a TOML file's, narrowed to `families`; every choice list validated."""
    if path is None:
        space = DEFAULT_SPACE
    else:
        try:
            space = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise OptionError(f"--space {path}: no such file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise OptionError(f"--space {path}: not valid TOML ({exc})") from None
        if not space:
            raise OptionError(f"--space {path}: no families; give one table per family, e.g. [mlp] hidden = [32, 64]")
    from ..distillation.methods import METHODS, methods_for
    from ..options import catalog
    from ..students import student_class

    if families:
        unknown = sorted(set(families) - set(space))
        if unknown:
            raise OptionError(
                f"--families {', '.join(unknown)}: not in the search space; choose from {', '.join(space)}"
            )
        space = {f: space[f] for f in families}
    known = set(catalog()) | {"method", "transfer"}
    for family, choices in space.items():
        student_class(family)  # raises OptionError naming the known families
        if not isinstance(choices, dict) or not all(isinstance(v, list) and v for v in choices.values()):
            raise OptionError(f"search space [{family}]: every key needs a non-empty list of choices")
        unknown = sorted(set(choices) - known)
        if unknown:
            raise OptionError(
                f"search space [{family}] {unknown[0]!r}: not an option of any family, method or transfer set "
                "(see kdedge distill --help)"
            )
        for method in choices.get("method", ["kd"]):
            if method not in METHODS:
                raise OptionError(f"search space [{family}] method {method!r}: choose from {', '.join(METHODS)}")
            accepted = methods_for(student_class(family))
            if method not in accepted:  # every trial drawing it would fail: refused before the study exists
                raise OptionError(
                    f"search space [{family}] method {method!r}: {family} students do not take it; choose from "
                    f"{', '.join(accepted)}"
                )
        _check_choices(family, choices)
    return space


def _check_choices(family: str, choices: dict[str, list]) -> None:
    """Each choice on its own, against the option it sets, before any trial: a bad one would otherwise fail every
    trial that draws it (Optuna takes single values only: numbers, strings, booleans)."""
    from ..options import owners
    from ..params import validate_params

    combos = [(m, t) for m in choices.get("method", ["kd"]) for t in choices.get("transfer", ["train"])]
    for key, values in choices.items():
        for value in values:
            if not isinstance(value, bool | int | float | str):
                raise OptionError(
                    f"search space [{family}] {key}: choice {value!r} is a {type(value).__name__}; each choice is "
                    "one value (a number, a string or true/false)"
                )
        if key in ("method", "transfer"):
            for value in values if key == "transfer" else ():
                owners(family, combos[0][0], value)  # an unknown transfer kind is one line naming the known ones
            continue
        models = [model for m, t in combos for _, model in owners(family, m, t) if key in model.model_fields]
        for value in values if models else ():  # a key no drawn method takes is never suggested
            validate_params(models[0], {key: value}, f"search space [{family}] {key}")


def fit_to_data(space: dict[str, dict[str, list]], sample_shape) -> dict[str, dict[str, list]]:
    """The space without the input maps this data cannot take (no spectrum of a vector): choices that would fail
    every trial drawing them. Every worker narrows it the same way, so the study sees one space."""
    from ..errors import DataError
    from ..feature_maps import feature_map

    def fits(name) -> bool:
        try:
            feature_map(name, sample_shape)
        except (DataError, OptionError):
            return False
        return True

    narrowed = {}
    for family, choices in space.items():
        choices = dict(choices)
        if "features" in choices:
            choices["features"] = [name for name in choices["features"] if fits(name)] or choices["features"]
        narrowed[family] = choices
    return narrowed


def suggest(trial, space: dict[str, dict[str, list]]) -> Candidate:
    """Let the Optuna trial pick a family, then its method and transfer kind, then each choice that one of them
    takes (define-by-run: no temperature for `logits`, no teacher_mode for `train`)."""
    from ..options import owners

    family = trial.suggest_categorical("family", list(space))
    choices = space[family]
    cand = Candidate(family, trial.suggest_categorical(f"{family}.method", choices.get("method", ["kd"])))
    if "transfer" in choices:
        cand.transfer = trial.suggest_categorical(f"{family}.transfer", choices["transfer"])
    owned_by = owners(family, cand.method, cand.transfer)
    for key, values in choices.items():
        if key not in ("method", "transfer") and any(key in model.model_fields for _, model in owned_by):
            cand.options[key] = trial.suggest_categorical(f"{family}.{key}", values)
    return cand
