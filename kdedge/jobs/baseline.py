"""Whether the teacher helped: the same student trained on labels alone beside the taught one (`--baseline`).

The twin has the taught job's family and options (architecture, schedule) but `--method hard` on the training
split, with as many optimizer steps (epochs scaled by the transfer set's multiple of the split). The taught student
trains first (so every refusal of its job comes before any work), and its manifest says the baseline is pending;
the twin then trains in a hidden folder beside OUT and moves to OUT/baseline, and OUT's manifest records both val
accuracies and the gain (`baseline`). A command killed on the way resumes: the same command reuses the finished
student (and a finished twin) and trains what is missing."""

from __future__ import annotations

import os

from ..manifest import Manifest
from ..runs import MANIFEST, Run
from .job import Job, execute, finished_run

BASELINE = "baseline"
PENDING = {"pending": True}  # the taught student is written, its twin not yet
TAUGHT = "taught"  # where the taught student goes when its hard-label twin won on val and was kept


def hard_twin(job: Job) -> Job:
    """The same student on labels, on the training split, with the same budget of optimizer steps: a neural
    student taught on a cached set k times the training split trains k times the epochs (and patience) here."""
    from ..distillation.methods import make_method

    options = dict(job.options)
    factor = _set_multiple(job.transfer)
    if factor > 1 and "epochs" in options:
        options["epochs"] = int(round(options["epochs"] * factor))
        if "patience" in options:
            options["patience"] = int(round(options["patience"] * factor))
    return job.but(out=job.out.parent / f".{job.out.name}.baseline", method=make_method("hard"), transfer=None,
                   options=options, overwrite=True, defaults=None)  # fmt: skip


def _set_multiple(transfer) -> float:
    """How many times the training split one epoch over this transfer set is (1 for online views: each epoch is
    one pass over the split)."""
    if transfer is None or getattr(transfer, "online", False) or not transfer.generates:
        return 1.0
    factor = transfer.transfer_size if transfer.transfer_size is not None else transfer.default_size
    return float(factor or 1.0)


def execute_with_baseline(job: Job, say=None, select: bool = False) -> Run:
    """Train the hard-label twin, then `job`; OUT/baseline holds the twin and OUT's manifest the comparison.
    `select`: where labels alone did better on val, OUT becomes that student and the taught one moves to
    OUT/taught (selection on val, as every other choice kdedge makes), so the default is never the worse of the two."""
    taught = finished_run(job) if is_pending(job.out) else None
    if taught is None:
        taught = execute(job)
        _set_baseline(taught.path, PENDING)
    twin = hard_twin(job)
    if say is not None:
        say(f"baseline: the same {job.family} on labels alone, to keep beside it in {job.out}")
    labels = finished_run(twin) or execute(twin)
    record = comparison(taught, labels)
    if select and record.get("val_gain", 0) < 0:
        kept, other, record["kept"] = _swap(taught.path, labels.path), TAUGHT, "labels"
    else:
        kept, other, record["kept"] = taught.path, BASELINE, "taught"
        os.replace(labels.path, kept / BASELINE)
    record["run"] = other
    if record["kept"] == "labels":
        _set_baseline(kept / TAUGHT, None)
    _set_baseline(kept, record, **({"defaults": job.defaults} if record["kept"] == "labels" else {}))
    if say is not None:
        say(gain_line(record, kept))
    return Run.load(kept)


def is_pending(out) -> bool:
    """OUT holds a taught student whose twin has not finished (what a killed `--baseline` command leaves)."""
    try:
        return Manifest.read(out / MANIFEST).baseline == PENDING
    except Exception:  # no run there, or not one kdedge can read: nothing to continue
        return False


def _set_baseline(folder, record, **more) -> None:
    manifest = Manifest.read(folder / MANIFEST).model_copy(update={"baseline": record, **more})
    manifest.write(folder)


def _swap(taught, labels):
    """OUT <- the labels student, OUT/taught <- the taught one (OUT's lock is held by the distill command)."""
    import tempfile
    from pathlib import Path

    holder = Path(tempfile.mkdtemp(prefix=f".{taught.name}.", suffix=".taught", dir=taught.parent))  # never taken
    os.replace(taught, holder / "run")
    os.replace(labels, taught)
    os.replace(holder / "run", taught / TAUGHT)
    holder.rmdir()
    return taught


def comparison(taught: Run, labels: Run) -> dict:
    t, b = taught.metrics, labels.metrics
    record = {
        "method": "hard",
        "val_accuracy": b.get("val_accuracy"),
        "test_accuracy": b.get("test_accuracy"),
    }
    if t.get("val_accuracy") is not None and b.get("val_accuracy") is not None:
        record["val_gain"] = t["val_accuracy"] - b["val_accuracy"]
    if t.get("test_accuracy") is not None and b.get("test_accuracy") is not None:
        record["test_gain"] = t["test_accuracy"] - b["test_accuracy"]
    return record


def gain_line(record: dict, kept) -> str:
    gain = record.get("val_gain")
    if gain is None:
        return "vs labels: no val accuracy to compare"
    labels = f"labels alone {100 * record['val_accuracy']:.2f} %"
    if record["kept"] == "labels":
        return (
            f"vs labels on val: {100 * gain:+.2f} points ({labels}): labels did better on these data, so {kept} is "
            f"the student on labels; the taught one is in {kept}/{TAUGHT}"
        )
    verdict = "the teacher helped" if gain > 0 else "labels did as well: consider --method hard"
    return f"vs labels on val: {100 * gain:+.2f} points ({verdict}; {labels}, in {kept}/{BASELINE})"
