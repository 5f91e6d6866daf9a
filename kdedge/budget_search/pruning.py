"""Stopping trials early: asynchronous successive halving over epochs (ASHA, Li et al. 2020) and the time budget.

At rungs of 1/9 and 1/3 of `--max-epochs` a neural trial records its best val accuracy so far; once at least
ETA trials have reached a rung, one outside the top 1/ETA there stops (state PRUNED, the reason kept), so bad
settings cost a fraction of a full training and the budget goes to the promising ones. Optuna's pruners need
`Trial.report`, which Optuna does not support for multi-objective studies (kdedge's: accuracy, latency, size), so
the rung rule is kept here, on the values every trial stores in the shared study (it resumes, and Dask workers
share it). The time budget: no trial starts after the deadline (Optuna's `timeout`), and a neural trial still
training when it passes stops at its next epoch.
"""

from __future__ import annotations

import re
import time

from ..errors import OptionError

ETA = 3  # keep the top third at each rung
RUNGS = 2  # rungs below the full --max-epochs (a rung at 1/27 stopped most trials in their warm-up, on noise)


class TrialStopped(Exception):
    """A trial stopped early: pruned at a rung, or the time budget spent. Not an error: the search goes on."""


def rungs(max_epochs: int) -> list[int]:
    """Epochs at which a trial is compared with the others: max/9 and max/3 (at least 1, each distinct)."""
    found = sorted({max(1, max_epochs // ETA**k) for k in range(RUNGS, 0, -1)})
    return [r for r in found if r < max_epochs]


def rung_key(epoch: int) -> str:
    return f"rung {epoch}"


def should_stop(score: float, others: list[float]) -> bool:
    """ASHA's promotion rule: with `others` (the values of the trials that reached this rung before), stop unless
    `score` is among the top 1/ETA of all of them."""
    values = sorted([*others, score], reverse=True)
    if len(values) < ETA:
        return False
    keep = max(1, len(values) // ETA)
    return score < values[keep - 1]


class EpochWatch:
    """Called by the training loop after every epoch of a trial (kdedge.distillation.loop.watching_epochs)."""

    def __init__(self, trial, max_epochs: int, deadline: float | None, prune: bool = True):
        self.trial, self.deadline, self.prune = trial, deadline, prune
        self.rungs = set(rungs(max_epochs)) if prune else set()

    def __call__(self, epoch: int, score: float) -> None:
        if self.deadline is not None and time.time() > self.deadline:
            raise TrialStopped(f"the time budget was spent at epoch {epoch}")
        if epoch not in self.rungs:
            return
        key = rung_key(epoch)
        self.trial.set_user_attr(key, score)
        others = [
            t.user_attrs[key]
            for t in self.trial.study.get_trials(deepcopy=False)
            if t.number != self.trial.number and key in t.user_attrs
        ]
        if should_stop(score, others):
            raise TrialStopped(
                f"pruned at epoch {epoch}: val accuracy {score:.4f} outside the top 1/{ETA} of {len(others) + 1} "
                "trials at this rung"
            )


_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text) -> float:
    """'30m', '2h', '90s', '1h30m' or a number of seconds -> seconds."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        parts = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", str(text))
        if not parts or not any(parts.groups()):
            raise OptionError(f"--time-budget {text!r}: give a duration such as 30m, 2h, 1h30m or 900s")
        h, m, s = (float(g) if g else 0.0 for g in parts.groups())
        seconds = 3600 * h + 60 * m + s
    if not seconds > 0:
        raise OptionError(f"--time-budget {text!r}: give a duration above zero")
    return seconds


def time_left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.time())
