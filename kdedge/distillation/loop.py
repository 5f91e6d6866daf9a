"""The one training loop for every torch model (teachers and neural students alike).

Model selection uses the validation split only: the kept weights are those of the epoch with the best validation
accuracy (ties go to the lower validation loss) or, with `select_by="agreement"`, the best agreement with the
teacher's labels on val (Stanton et al. 2021: fidelity is what a student is for); training stops after `patience`
epochs without improvement. `schedule="cosine"` anneals the learning rate per step after a linear warm-up, which
makes the long schedules of function matching (Beyer et al. 2022) converge instead of oscillating.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F

from .. import distributed
from ..progress import progress_bar
from ..students.training import TrainConfig
from . import checkpoint
from .batches import Batches

LossFn = Callable[[torch.Tensor, torch.Tensor | None, torch.Tensor], torch.Tensor]


def seed_everything(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    return torch.Generator().manual_seed(seed)


@torch.inference_mode()
def evaluate(module: torch.nn.Module, data: Batches, loss_fn: LossFn, batch_size: int = 1024) -> dict[str, float]:
    """Accuracy on labelled rows and the mean of `loss_fn` over chunks (weighted by chunk size); where the teacher's
    logits are known, also agreement with its labels and KL(teacher ‖ student) at T = 1 (fidelity)."""
    module.eval()
    correct = labelled = agree = 0
    loss_sum = kl_sum = 0.0
    device = next(module.parameters()).device
    for x, y, t in data.chunks(batch_size):
        if device.type != "cpu":
            x, y, t = on_device((x, y, t), device)
        logits = module(x)
        loss_sum += float(loss_fn(logits, t, y)) * len(x)
        known = y >= 0
        correct += int((logits.argmax(1)[known] == y[known]).sum())
        labelled += int(known.sum())
        if t is not None:
            agree += int((logits.argmax(1) == t.argmax(1)).sum())
            kl_sum += float(kl_teacher_student(logits, t)) * len(x)
    figures = {"accuracy": correct / max(labelled, 1), "loss": loss_sum / len(data)}
    if data.teacher_logits is not None:
        figures.update(agreement=agree / len(data), kl=kl_sum / len(data))
    return figures


def kl_teacher_student(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Mean over samples of KL(softmax(t) ‖ softmax(s)), in nats."""
    return F.kl_div(
        F.log_softmax(student_logits, dim=1),
        F.log_softmax(teacher_logits, dim=1),
        reduction="batchmean",
        log_target=True,
    )


def lr_factor(step: int, total_steps: int, warmup_steps: int, schedule: str) -> float:
    """Multiplier of the base learning rate at optimizer step `step` (0-based): linear warm-up, then constant or
    a cosine from 1 down to 0 at `total_steps`."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def selection_key(figures: dict, select_by: str) -> tuple:
    if select_by == "agreement":
        return (figures["agreement"], figures["accuracy"], -figures["loss"])
    return (figures["accuracy"], -figures["loss"])


def on_device(tensors, device):
    return tuple(None if t is None else t.to(device, non_blocking=True) for t in tensors)


def prefetched(data, index_batches):
    """`data.batch(idx)` for each batch in order, the next one prepared in a worker thread while the caller trains
    on the current one: online views and their teacher outputs (onnxruntime and torch release the GIL) overlap the
    student's step. One worker calling in order keeps every random draw where it was: same seed, same batches.
    Data whose batches are mere slices (`prefetch = False`, e.g. cached targets) is read inline: handing a slice to
    a thread and back cost more than the slice itself (most of a small MLP's step on a busy machine)."""
    if not getattr(data, "prefetch", False):
        yield from (data.batch(idx) for idx in index_batches)
        return
    with ThreadPoolExecutor(max_workers=1) as worker:
        pending = None
        for idx in index_batches:
            upcoming = worker.submit(data.batch, idx)
            if pending is not None:
                yield pending.result()
            pending = upcoming
        if pending is not None:
            yield pending.result()


OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def _autocast(device: torch.device):
    """Mixed precision on CUDA (bfloat16: no loss scaling needed); full precision elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


_epoch_watch: contextvars.ContextVar = contextvars.ContextVar("kdedge_epoch_watch", default=None)


@contextlib.contextmanager
def watching_epochs(callback):
    """Inside the block, every training epoch ends with `callback(epoch, best val score so far)`; what it raises
    stops the training (a search trial pruned, or its time budget spent)."""
    token = _epoch_watch.set(callback)
    try:
        yield
    finally:
        _epoch_watch.reset(token)


def train(
    module: torch.nn.Module,
    loss_fn: LossFn,
    train_data: Batches,
    val_data: Batches,
    config: TrainConfig,
    seed: int,
    label: str = "training",
    params: list | None = None,
) -> dict:
    """Train `module` in place; restore the best-on-validation weights. Returns the history.

    `train_data` is a `Batches` or anything with its `batch(idx)` and `len` (e.g. online views, which transform
    every batch afresh and have the teacher label it). Inside `checkpoint.resumable` (a run being written) the
    state is saved as it goes and a saved stage is resumed, to the same result."""
    if config.select_by == "agreement" and val_data.teacher_logits is None:
        from ..errors import OptionError

        raise OptionError("--select-by agreement needs the teacher's outputs on val; use a teacher method (kd, logits)")
    gen = seed_everything(seed)
    model, processes = distributed.wrap(module), distributed.world_size()  # DDP in a `--nproc` worker
    n = len(train_data)
    opt = OPTIMIZERS[config.optimizer](
        params if params is not None else module.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    steps_per_epoch = math.ceil(n / config.batch_size)
    total, warmup = config.epochs * steps_per_epoch, config.warmup_epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: lr_factor(step, total, warmup, config.schedule))
    optimizing = _Optimizing(module, model, opt, schedule, gen, train_data)
    saver = checkpoint.Saver(checkpoint.stage())
    state = optimizing.resume(saver.path, config.epochs)
    start = time.perf_counter() - state["seconds"]
    with progress_bar(label, total=config.epochs) as advance:
        for epoch in range(state["epoch"] + 1, config.epochs + 1):
            train_loss = optimizing.epoch(loss_fn, config.batch_size, processes)
            figures = evaluate(module, val_data, loss_fn)
            state["history"].append(
                {"epoch": epoch, "train_loss": train_loss, **{f"val_{k}": v for k, v in figures.items()}}
            )
            key = selection_key(figures, config.select_by)
            if state["best_key"] is None or key > tuple(state["best_key"]):
                state.update(
                    best_key=key, best_epoch=epoch, best=figures, best_state=copy.deepcopy(module.state_dict())
                )
            best_key, best_epoch = state["best_key"], state["best_epoch"]
            per_epoch = (time.perf_counter() - start) / epoch
            status = (
                f"loss {train_loss:.4f} · val {config.select_by} {key[0]:.4f} (best {best_key[0]:.4f} @ {best_epoch})"
            )
            advance(f"{status} · {per_epoch:.1f} s/epoch", completed=epoch)
            watch = _epoch_watch.get()
            if watch is not None:
                watch(epoch, best_key[0])
            stop = epoch - best_epoch >= config.patience or epoch == config.epochs
            if not stop and saver.due() and distributed.is_writer():
                state.update(epoch=epoch, seconds=time.perf_counter() - start)
                optimizing.save(saver.path, state)
                saver.saved()
            if stop:
                break
    module.load_state_dict(state["best_state"])
    module.eval()
    return {
        "best_epoch": state["best_epoch"],
        "epochs_run": len(state["history"]),
        "selected_by": f"val {config.select_by}",
        **{f"val_{k}": v for k, v in state["best"].items()},
        "train_seconds": round(time.perf_counter() - start, 3),
        "history": state["history"],
    }


class _Optimizing:
    """What one training's epochs share: the module (and its DDP wrapper), optimizer, schedule, random streams and
    data; it runs an epoch, and saves and restores all of it as a checkpoint."""

    def __init__(self, module, model, opt, schedule, gen, train_data):
        self.module, self.model, self.opt, self.schedule, self.gen = module, model, opt, schedule, gen
        self.train_data = train_data
        self.device = next(module.parameters()).device  # batches follow the module (compute.training_device)

    def epoch(self, loss_fn: LossFn, batch_size: int, processes: int) -> float:
        """One pass over the training data; returns its mean training loss (for the log line)."""
        self.model.train()
        n = len(self.train_data)
        order = torch.randperm(n, generator=self.gen).numpy()
        # BatchNorm cannot train on a single sample: a last batch of one (per process) is skipped
        index_batches = [np.sort(order[i : i + batch_size]) for i in range(0, n, batch_size)]
        index_batches = [idx for idx in index_batches if len(idx) >= 2 * processes or (n == 1 and processes == 1)]
        # Under DDP each process trains on its share of every global batch; its loss counts by its share of the
        # rows, so the averaged gradient is the whole batch's (1 in one process).
        shares = [len(distributed.shard(idx)) * processes / len(idx) for idx in index_batches]
        local_batches = prefetched(self.train_data, [distributed.shard(idx) for idx in index_batches])
        summed, steps = torch.zeros((), device=self.device), 0
        for (x, y, t), weight in zip(local_batches, shares, strict=True):
            if self.device.type != "cpu":
                x, y, t = on_device((x, y, t), self.device)
            self.opt.zero_grad()
            with _autocast(self.device):
                loss = loss_fn(self.model(x).float(), t, y)
            (loss * weight if weight != 1 else loss).backward()
            self.opt.step()
            self.schedule.step()
            summed, steps = summed + loss.detach(), steps + 1
        return float(summed) / max(steps, 1)

    def resume(self, path, epochs: int) -> dict:
        """The selection state: a fresh one, or the saved stage's with every stream restored to where it was."""
        state = {"best_key": None, "best_state": None, "best_epoch": 0, "best": {}, "history": [], "epoch": 0,
                 "seconds": 0.0}  # fmt: skip
        saved = checkpoint.load(path)
        if saved is None:
            return state
        self.module.load_state_dict(saved["model"])
        self.opt.load_state_dict(saved["optimizer"])
        self.schedule.load_state_dict(saved["schedule"])
        self.gen.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        if "views_rng" in saved["extra"] and hasattr(self.train_data, "rng"):
            self.train_data.rng.bit_generator.state = saved["extra"]["views_rng"]
        state.update({k: saved[k] for k in state})
        state["best_key"] = tuple(saved["best_key"])
        checkpoint.say_resumed(path, state["epoch"], epochs)
        return state

    def save(self, path, state: dict) -> None:
        streams = {
            "model": self.module.state_dict(),
            "optimizer": self.opt.state_dict(),
            "schedule": self.schedule.state_dict(),
            "generator": self.gen.get_state(),
            "torch_rng": torch.get_rng_state(),
        }
        rng = getattr(self.train_data, "rng", None)
        extra = {"views_rng": rng.bit_generator.state} if rng is not None else {}
        checkpoint.save(path, {**streams, **state, "best_key": list(state["best_key"])}, extra)
