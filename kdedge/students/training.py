"""How a torch model is trained: the options every neural student (and built-in teacher) shares.

Kept free of torch so that the option catalog (`kdedge.options`), and with it the CLI, loads without it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEDULE_PANEL = "Training schedule (neural students)"


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    epochs: int = Field(200, gt=0, description="maximum epochs (early stopping on the val split)")
    lr: float = Field(1e-3, gt=0, description="peak learning rate")
    optimizer: Literal["adam", "adamw"] = Field(
        "adam", description="adam (weight decay as L2 in the gradient) or adamw (decoupled weight decay)"
    )
    batch_size: int = Field(64, gt=0, description="training batch size")
    patience: int = Field(40, gt=0, description="stop after this many epochs without a better val score")
    weight_decay: float = Field(0.0, ge=0, description="weight decay (L2 for adam, decoupled for adamw)")
    schedule: Literal["constant", "cosine"] = Field(
        "constant", description="learning rate: constant, or cosine (annealed to 0 at --epochs)"
    )
    warmup_epochs: int = Field(0, ge=0, description="epochs of linear learning-rate warm-up")
    select_by: Literal["accuracy", "agreement"] = Field(
        "accuracy", description="keep the epoch best on val accuracy, or on val agreement with the teacher"
    )
