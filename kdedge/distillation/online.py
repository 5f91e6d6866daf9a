"""Online, consistent teaching: fresh views of the training split for every batch, labelled by the teacher then.

`OnlineViews` stands in for `Batches` in the training loop: `batch(idx)` reads the rows, transforms them with the
transfer set's view ops (new random draws every call, so every epoch sees new views: an endless stream), runs the
teacher on exactly that transformed batch, and returns (views, labels, teacher logits). Student and teacher see the
same input at every step, which is what Beyer et al. 2022 found lets a student match its teacher's function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import distributed
from .transfer import UNLABELED, Views

if TYPE_CHECKING:
    import torch


class OnlineViews:
    prefetch = True  # views and the teacher's outputs take long enough to overlap with the student's step

    def __init__(self, x: np.ndarray, y: np.ndarray, views: Views, teacher, seed: int):
        self.x, self.y = x, np.asarray(y, np.int64)
        self.views, self.teacher = views, teacher
        self.context = views.context(x, partners_from_set=False)  # mixup partners come from the batch
        # its own stream: the views do not shift other draws; under DDP each process draws its own views
        self.rng = np.random.default_rng([seed, 4243, *([distributed.rank()] if distributed.rank() else [])])
        self.teacher_logits = None  # no fixed targets: the loop must not read any

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, idx) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        import torch  # here, not at import: a non-neural run never loads it

        views = self.views.apply(np.asarray(self.x[idx], np.float32), self.rng, self.context)
        labels = self.y[idx] if self.views.keeps_labels else np.full(len(views), UNLABELED, np.int64)
        logits = None
        if self.teacher is not None:
            logits = torch.from_numpy(np.asarray(self.teacher.logits(views), np.float32))
        return torch.from_numpy(views), torch.from_numpy(np.array(labels, np.int64)), logits
