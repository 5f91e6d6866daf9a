"""The one training loop for every torch model (teachers and neural students alike).

Model selection uses the validation split only: the kept weights are those of the epoch with the best validation
accuracy (ties go to the lower validation loss), and training stops after `patience` epochs without improvement.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from ..progress import progress_bar


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    epochs: int = Field(200, gt=0)
    lr: float = Field(1e-3, gt=0)
    batch_size: int = Field(64, gt=0)
    patience: int = Field(40, gt=0)
    weight_decay: float = Field(0.0, ge=0)


@dataclass
class Batches:
    """Inputs, labels (-1 where unknown) and optional teacher logits for one split.

    Arrays stay numpy (memory-mapped ones included) and become tensors one batch at a time, so a transfer set
    larger than memory streams through training.
    """

    x: np.ndarray
    y: np.ndarray
    teacher_logits: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, idx) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Tensors for the rows `idx` (a slice or sorted integer indices: memmaps read those fastest)."""
        # np.array copies: rows of a read-only memmap must not become tensors that share its pages.
        x = torch.from_numpy(np.array(self.x[idx], dtype=np.float32))
        y = torch.from_numpy(np.array(self.y[idx], dtype=np.int64))
        t = self.teacher_logits
        return x, y, None if t is None else torch.from_numpy(np.array(t[idx], dtype=np.float32))

    def chunks(self, size: int):
        for i in range(0, len(self), size):
            yield self.batch(slice(i, i + size))


LossFn = Callable[[torch.Tensor, torch.Tensor | None, torch.Tensor], torch.Tensor]


def seed_everything(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    return torch.Generator().manual_seed(seed)


@torch.no_grad()
def evaluate(module: torch.nn.Module, data: Batches, loss_fn: LossFn, batch_size: int = 1024) -> tuple[float, float]:
    """Accuracy on labelled rows and the mean of `loss_fn` over chunks (weighted by chunk size)."""
    module.eval()
    correct = labelled = 0
    loss_sum = 0.0
    for x, y, t in data.chunks(batch_size):
        logits = module(x)
        loss_sum += float(loss_fn(logits, t, y)) * len(x)
        known = y >= 0
        correct += int((logits.argmax(1)[known] == y[known]).sum())
        labelled += int(known.sum())
    return correct / max(labelled, 1), loss_sum / len(data)


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
    """Train `module` in place with Adam; restore the best-on-validation weights. Returns the history."""
    gen = seed_everything(seed)
    n = len(train_data)
    opt = torch.optim.Adam(
        params if params is not None else module.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    best_key, best_state, best_epoch, history = None, None, 0, []
    start = time.perf_counter()
    with progress_bar(label, total=config.epochs) as advance:
        for epoch in range(1, config.epochs + 1):
            module.train()
            order = torch.randperm(n, generator=gen).numpy()
            for i in range(0, n, config.batch_size):
                idx = np.sort(order[i : i + config.batch_size])
                if len(idx) < 2 and n > 1:  # BatchNorm cannot train on a single sample
                    continue
                x, y, t = train_data.batch(idx)
                opt.zero_grad()
                loss = loss_fn(module(x), t, y)
                loss.backward()
                opt.step()
            val_acc, val_loss = evaluate(module, val_data, loss_fn)
            history.append({"epoch": epoch, "val_accuracy": val_acc, "val_loss": val_loss})
            key = (val_acc, -val_loss)
            if best_key is None or key > best_key:
                best_key, best_epoch = key, epoch
                best_state = copy.deepcopy(module.state_dict())
            advance(f"val acc {val_acc:.4f} (best {best_key[0]:.4f} @ {best_epoch})")
            if epoch - best_epoch >= config.patience:
                break
    module.load_state_dict(best_state)
    module.eval()
    return {
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "val_accuracy": best_key[0],
        "val_loss": -best_key[1],
        "train_seconds": round(time.perf_counter() - start, 3),
        "history": history,
    }
