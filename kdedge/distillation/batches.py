"""One split's rows for training: numpy in, torch tensors one batch out.

Kept apart from the training loop so that non-neural students (which read the arrays directly) never import torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


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
        import torch

        # np.array copies: rows of a read-only memmap must not become tensors that share its pages.
        x = torch.from_numpy(np.array(self.x[idx], dtype=np.float32))
        y = torch.from_numpy(np.array(self.y[idx], dtype=np.int64))
        t = self.teacher_logits
        return x, y, None if t is None else torch.from_numpy(np.array(t[idx], dtype=np.float32))

    def chunks(self, size: int):
        for i in range(0, len(self), size):
            yield self.batch(slice(i, i + size))
