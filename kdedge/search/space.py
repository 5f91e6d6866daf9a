"""The search space: per student family, the choices for each option, method option and transfer-set option.

Every entry is a list of choices (categorical), so a user's TOML file has the same shape as the default below and
replaces it whole: `[mlp] hidden = ["32", "64"]`, `method = ["kd"]`, `temperature = [2.0, 4.0]`, ...
Keys are sorted into student options, method options (the chosen method's own fields) and transfer-set options
(`transfer`, `transfer_size`), so new families and methods need no code here, only choices.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OptionError

TRANSFER_KEYS = ("transfer", "transfer_size")

DEFAULT_SPACE: dict[str, dict[str, list]] = {
    "mlp": {
        "hidden": ["16", "32", "64", "128", "256", "64,32", "128,64"],
        "method": ["kd", "logits"],
        "temperature": [1.0, 2.0, 4.0, 8.0],
        "alpha": [0.5, 0.9, 1.0],
    },
    "resnet": {
        "depth": [8, 14],
        "width": [4, 8, 16],
        "method": ["kd"],
        "temperature": [2.0, 4.0],
        "alpha": [0.9],
    },
    "svm": {
        "kernel": ["rbf", "linear"],
        "C": [0.1, 1.0, 10.0, 100.0],
        "method": ["logits", "softmax"],
        "temperature": [1.0, 50.0, 100.0],
    },
    "forest": {
        "n_estimators": [10, 30, 100],
        "max_depth": [4, 8, 16],
        "method": ["logits", "softmax"],
        "temperature": [1.0, 100.0],
        "transfer": ["train", "augment"],  # augment at its default 5x: `train` takes no size
    },
    "gbdt": {
        "num_leaves": [4, 8, 16],
        "n_estimators": [50, 100, 200],
        "learning_rate": [0.05, 0.1],
        "method": ["logits", "softmax"],
        "temperature": [1.0, 100.0],
    },
    "tree": {
        "max_depth": [6, 8, 10, 14],
        "method": ["logits", "softmax"],
        "temperature": [1.0, 100.0],
        "transfer": ["augment", "munge"],
        "transfer_size": ["5x", "10x"],
    },
}


@dataclass
class Candidate:
    """One point of the space: what `fit_run` needs to train it."""

    family: str
    options: dict = field(default_factory=dict)
    method: str = "kd"
    method_options: dict = field(default_factory=dict)
    transfer: dict = field(default_factory=dict)

    def describe(self) -> str:
        parts = [self.family, self.method]
        parts += [f"{k}={v}" for k, v in {**self.options, **self.method_options, **self.transfer}.items()]
        return " ".join(parts)


def load_space(path: str | Path | None, families: list[str] | None) -> dict[str, dict[str, list]]:
    """The default space or a TOML file's, narrowed to `families`; every choice list validated."""
    if path is None:
        space = DEFAULT_SPACE
    else:
        try:
            space = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise OptionError(f"--space {path}: no such file") from None
        except tomllib.TOMLDecodeError as exc:
            raise OptionError(f"--space {path}: not valid TOML ({exc})") from None
    from ..distill.methods import METHODS
    from ..students import student_class

    if families:
        unknown = sorted(set(families) - set(space))
        if unknown:
            raise OptionError(
                f"--families {', '.join(unknown)}: not in the search space; choose from {', '.join(space)}"
            )
        space = {f: space[f] for f in families}
    for family, choices in space.items():
        student_class(family)  # raises OptionError naming the known families
        if not isinstance(choices, dict) or not all(isinstance(v, list) and v for v in choices.values()):
            raise OptionError(f"search space [{family}]: every key needs a non-empty list of choices")
        for method in choices.get("method", ["kd"]):
            if method not in METHODS:
                raise OptionError(f"search space [{family}] method {method!r}: choose from {', '.join(METHODS)}")
    return space


def suggest(trial, space: dict[str, dict[str, list]]) -> Candidate:
    """Let the Optuna trial pick a family, then each of that family's choices (define-by-run)."""
    from ..distill.methods import METHODS

    family = trial.suggest_categorical("family", list(space))
    choices = space[family]
    method = trial.suggest_categorical(f"{family}.method", choices.get("method", ["kd"]))
    method_fields = set(METHODS[method].model_fields)
    cand = Candidate(family=family, method=method)
    for key, values in choices.items():
        if key == "method" or (key in _method_keys(METHODS) and key not in method_fields):
            continue  # e.g. no temperature for `logits`
        value = trial.suggest_categorical(f"{family}.{key}", values)
        target = (
            cand.method_options if key in method_fields else cand.transfer if key in TRANSFER_KEYS else cand.options
        )
        target[key] = value
    return cand


def _method_keys(methods) -> set[str]:
    return {name for cls in methods.values() for name in cls.model_fields}
