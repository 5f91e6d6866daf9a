"""The built-in teacher's training is chosen from the data's layout and size, the user's options win, and the run
records what was chosen."""

import json

import numpy as np
import pytest

import kdedge
from kdedge.data import Dataset
from kdedge.defaults import LARGE_DATA_ROWS, teacher_max_shift
from kdedge.errors import OptionError
from kdedge.teachers.recipe import plan_teacher


def _images(n: int, side: int = 8) -> Dataset:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 4
    x = rng.integers(0, 255, size=(n, 1, side, side)).astype(np.uint8).astype(np.float32)
    return Dataset("synthetic", x, y, ["a", "b", "c", "d"])


@pytest.fixture(scope="module")
def large():
    data = _images(17_000)  # 11,900 training rows after the 30 % test and 15 % val splits
    assert len(data.train_idx) >= LARGE_DATA_ROWS
    return data


def test_large_image_sets_get_the_wide_cnn_with_shifts(large):
    plan = plan_teacher(None, large, None, {})
    assert plan.arch == "cnn" and plan.transfer == "shift"
    assert plan.options["convs"] == 2 and plan.options["pool_after"] == (1, 2)
    assert plan.options["optimizer"] == "adamw" and plan.options["label_smoothing"] == 0.05
    assert plan.options["teacher_mode"] == "online" and plan.options["max_shift"] == 1  # 7.5 % of 8 px
    assert plan.record["recipe"] == "teacher/large" and plan.record["chose"]["augment"] == "shift"
    assert "--augment shift" in plan.line() and "the default for images with 10,000+ training rows" in plan.line()


def test_the_users_options_win_and_are_not_reported_as_chosen(large):
    plan = plan_teacher("resnet", large, "none", {"epochs": 3, "lr": None})
    assert plan.arch == "resnet" and plan.transfer == "train"
    assert plan.options["epochs"] == 3 and "epochs" not in plan.record["chose"]
    assert not any(k in plan.options for k in ("channels", "convs", "pool_after"))  # a CNN's, not a ResNet's
    assert plan.options["width"] == 16 and "augment" not in plan.record["chose"]


def test_small_sets_and_vectors_keep_the_small_recipe(digits):
    plan = plan_teacher(None, digits, None, {})
    assert plan.record["recipe"] == "teacher/small" and plan.transfer == "train"
    assert plan.options == {"epochs": 60, "patience": 20}
    vectors = Dataset("v", np.random.default_rng(0).normal(size=(60, 5)), np.arange(60) % 3, ["a", "b", "c"])
    with pytest.raises(OptionError, match="--augment shift needs images or sequences"):
        plan_teacher(None, vectors, "shift", {})
    with pytest.raises(OptionError, match="--max-shift sets the teacher's shifts; it needs --augment shift"):
        plan_teacher(None, digits, None, {"max_shift": 2})
    with pytest.raises(OptionError, match="--augment 'flip': choose from shift, none"):
        plan_teacher(None, digits, "flip", {})


def test_max_shift_is_a_share_of_the_shortest_axis():
    assert [teacher_max_shift((1, s, s)) for s in (8, 16, 28, 32, 96)] == [1, 1, 2, 2, 7]
    assert teacher_max_shift((3, 100)) == 8  # a sequence of 100 steps


def test_a_trained_teacher_records_the_recipe(tmp_path, large):
    said = []
    run = kdedge.train_teacher(large, out=tmp_path / "t", channels="4,4,4", epochs=1, say=said.append)
    manifest = json.loads((run.path / "kdedge.json").read_text())
    assert manifest["defaults"]["recipe"] == "teacher/large"
    assert manifest["defaults"]["chose"]["convs"] == 2 and "channels" not in manifest["defaults"]["chose"]
    assert manifest["method"]["label_smoothing"] == 0.05 and manifest["transfer"]["kind"] == "shift"
    assert manifest["student"]["params"]["optimizer"] == "adamw" and len(said) == 1
