"""Teacher and data resolution, written once: what every surface that trains from a teacher calls."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from ..data import Dataset
from ..errors import OptionError
from ..runs import Run


class Bound(NamedTuple):
    """A teacher checked against the data it teaches on (None for hard labels without one), and the data's source
    as the run records it. Unpacks as `(teacher, dataset, source)`."""

    teacher: object | None
    dataset: Dataset
    source: str


def dataset_and_source(data, seed: int = 0, data_format=None, reader_options=None) -> tuple[Dataset, str]:
    """(dataset, how the run records its source) from a Dataset or a spec string (a built-in name, a path)."""
    from ..data import load_dataset

    if isinstance(data, Dataset):
        return data, (data.origin or {}).get("source", data.name)
    return load_dataset(str(data), seed=seed, fmt=data_format, **(reader_options or {})), str(data)


def _is_teacher(spec) -> bool:
    """Already a teacher object, bound to its data (a recipe's earlier student, an averaged teacher)."""
    return hasattr(spec, "logits") and hasattr(spec, "fingerprint")


def _load_one(spec, factory: str | None):
    from ..teachers import load_teacher

    if _is_teacher(spec):
        return spec
    return load_teacher(spec.path if isinstance(spec, Run) else spec, factory=factory)


def _own_data(first) -> tuple[Dataset, str]:
    """The data a teacher was made from: a run's own data and split, or what a kdedge-exported graph records."""
    run = getattr(first, "run", None)
    if run is not None:
        return run.dataset(), run.manifest.data.source
    recorded = getattr(first, "recorded_data", lambda: None)()
    if recorded is not None:  # a kdedge-exported graph: its kdedge.data_source and split seed
        return dataset_and_source(recorded[0], recorded[1])
    raise OptionError(f"teacher {first.name} does not say what data it was trained on; pass --data (data= in Python)")


def resolve(
    teacher,
    *,
    data=None,
    factory: str | None = None,
    via=(),
    seed: int = 0,
    method=None,
    classes: bool = True,
) -> Bound:
    """A teacher bound to its data: `teacher` is a run directory (or `Run`), a TorchScript `.pt`, an `.onnx`,
    weights with `factory`, a teacher object, a list of those (their averaged logits teach), or None; `via` are
    assistant runs it taught in turn. The data is `data` (a Dataset or a spec), else the first teacher's own.

    Always checked: the input shape (a 2-sample forward pass, before any training). The classes: where `method`
    reads the teacher's outputs, or — without a method — unless `classes=False` (a recipe checks each student's)."""
    from ..distillation import strategies
    from ..distillation.run import check_teacher_fits

    specs = teacher if isinstance(teacher, list | tuple) else [teacher]
    loaded = [_load_one(t, factory) for t in specs if t is not None]
    if data is None:
        if not loaded:
            raise OptionError("without a teacher, pass --data (e.g. --data digits; data='digits' in Python)")
        dataset, source = _own_data(loaded[0])
    else:
        dataset, source = dataset_and_source(data, seed)
    for t, spec in zip(loaded, [s for s in specs if s is not None], strict=True):
        if not _is_teacher(spec):
            t.bind(dataset, classes=False)
        if method is not None or classes:
            check_teacher_fits(t, dataset, method)
    if not loaded:
        if via:
            raise OptionError("--via needs --teacher: the chain starts at the teacher")
        return Bound(None, dataset, source)
    combined = strategies.chain_through(strategies.combine_teachers(loaded), [Path(v) for v in via or ()])
    return Bound(combined, dataset, source)
