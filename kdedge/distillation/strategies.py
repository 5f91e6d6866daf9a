"""Strategies that compose runs: several teachers averaged into one, assistant chains, born-again generations.

Each is built from the ordinary pieces (Teachers and run directories); born-again generations, which train, are
jobs (`kdedge.jobs.born_again`).
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..errors import DataError, OptionError
from ..runs import Run


class AveragedTeacher:
    """Several teachers as one (Hinton et al.'s ensemble to distill): logits = mean of the teachers' logits.

    Averaging logits (a geometric mean of the probabilities, renormalized) keeps the result a set of logits that
    KD tempers as usual. It has no named layers: feature methods refuse it.
    """

    def __init__(self, teachers: list):
        if len(teachers) < 2:
            raise OptionError("an averaged teacher needs at least two --teacher runs")
        first = teachers[0]
        for t in teachers[1:]:
            if tuple(t.sample_shape) != tuple(first.sample_shape) or list(t.class_names) != list(first.class_names):
                raise DataError(
                    f"teachers {first.name} and {t.name} differ in input shape or classes; average teachers of "
                    "the same task"
                )
        self.teachers = list(teachers)
        self.name = "average(" + ", ".join(t.name for t in teachers) + ")"
        self.sample_shape = tuple(first.sample_shape)
        self.n_classes = first.n_classes
        self.class_names = list(first.class_names)
        self.fingerprint = hashlib.sha256("+".join(t.fingerprint for t in teachers).encode()).hexdigest()[:16]
        self.run = getattr(first, "run", None)  # whose data and split a student uses by default

    has_features = False

    def logits(self, x: np.ndarray) -> np.ndarray:
        return np.mean([np.asarray(t.logits(x), np.float32) for t in self.teachers], axis=0)

    def bind(self, dataset) -> AveragedTeacher:
        self.teachers = [t.bind(dataset) if hasattr(t, "bind") else t for t in self.teachers]
        return self

    def use_onnxruntime(self, rows: int) -> None:
        for t in self.teachers:
            t.use_onnxruntime(rows)

    def describe(self) -> dict:
        return {
            "kind": "average",
            "fingerprint": self.fingerprint,
            "members": [_describe(t) for t in self.teachers],
        }


class ChainTeacher:
    """The last model of an assistant chain teacher -> assistant(s) -> student (Mirzadeh et al.; Szijártó et al.).

    It teaches exactly like the last model (logits, layers, fingerprint); only its description records the chain.
    """

    def __init__(self, links: list):
        self.links = list(links)
        self.last = links[-1]

    def __getattr__(self, name):  # logits, features, layers, name, run, ... are the last model's
        if name in ("links", "last"):  # not set yet (e.g. during copy): no recursion
            raise AttributeError(name)
        return getattr(self.last, name)

    def describe(self) -> dict:
        return {**_describe(self.last), "chain": [_describe(t) for t in self.links]}


def _describe(teacher) -> dict:
    describe = getattr(teacher, "describe", None)
    return describe() if callable(describe) else {"name": teacher.name, "fingerprint": teacher.fingerprint}


def combine_teachers(teachers: list) -> object:
    return teachers[0] if len(teachers) == 1 else AveragedTeacher(teachers)


def chain_through(teacher, via: list) -> object:
    """`teacher` taught `via[0]`, which taught `via[1]`...: checked from the runs' manifests, so a chain in a
    manifest is one that really happened. Returns a teacher that teaches as the last assistant."""
    from ..teachers import RunTeacher

    links = [teacher]
    for path in via:
        run = Run.load(path)
        taught_by = (run.manifest.teacher or {}).get("fingerprint")
        previous = links[-1]
        if taught_by != previous.fingerprint:
            raise OptionError(
                f"--via {path} was not distilled from {previous.name} (its teacher has fingerprint {taught_by}); "
                f"make it first with: kdedge distill --teacher {previous.name} --out {path} ..."
            )
        links.append(RunTeacher(run))
    return teacher if len(links) == 1 else ChainTeacher(links)
