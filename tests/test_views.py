"""View ops (shift, mixup, noise), their transfer sets offline and online, and digits-shift."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kdedge.data import load_dataset
from kdedge.distillation.loop import Batches, TrainConfig, kl_teacher_student, lr_factor, train
from kdedge.distillation.online import OnlineViews
from kdedge.distillation.transfer import make_transfer
from kdedge.errors import OptionError


def impulses(n=64, side=16):
    """One bright pixel per image, at the centre: its position after a shift is the shift itself."""
    x = np.zeros((n, 1, side, side), np.float32)
    x[:, 0, side // 2, side // 2] = 1.0
    return x


# -- digits-shift -------------------------------------------------------------------------------------------------


def test_digits_shift_shapes_sizes_and_determinism():
    a = load_dataset("digits-shift", seed=3, samples=400)
    b = load_dataset("digits-shift", seed=3, samples=400)
    c = load_dataset("digits-shift", seed=4, samples=400)
    assert a.sample_shape == (1, 16, 16) and a.n_classes == 10
    assert a.describe()["sizes"] == {"train": 400, "val": 80, "test": 120}
    assert a.x.tobytes() == b.x.tobytes() and np.array_equal(a.y, b.y)
    assert a.x.tobytes() != c.x.tobytes()
    assert load_dataset("digits-shift", seed=0, samples=100, canvas=24).sample_shape == (1, 24, 24)
    assert a.origin == {"source": "digits-shift", "format": None, "options": {"samples": 400}}


def test_digits_shift_canvases_come_from_their_own_splits_sources():
    """With no noise every canvas holds an exact copy of a source digit; it must be a digit of its own split."""
    from kdedge.data.dataset import split_indices
    from kdedge.data.readers import _digits_arrays

    digits, labels = _digits_arrays()
    sources = dict(zip(("train", "val", "test"), split_indices(labels, 0), strict=True))
    data = load_dataset("digits-shift", seed=0, samples=150, pixel_noise=0)
    for split, idx in sources.items():
        own = {digits[i].tobytes(): labels[i] for i in idx}
        x, y = data.split(split)
        for canvas, label in zip(x, y, strict=True):
            windows = np.lib.stride_tricks.sliding_window_view(canvas[0], (8, 8)).reshape(-1, 8, 8)
            found = [own[w.tobytes()] for w in windows if w.tobytes() in own]
            assert found and found[0] == label, split
    assert not set(sources["train"]) & (set(sources["val"]) | set(sources["test"]))


def test_digits_shift_options_are_checked():
    with pytest.raises(OptionError, match="--samples"):
        load_dataset("digits-shift", samples=10)
    with pytest.raises(OptionError, match="--label-column does not apply"):
        load_dataset("digits-shift", label_column="y")


# -- view ops -----------------------------------------------------------------------------------------------------


def test_shift_moves_by_at_most_max_shift_and_is_seeded():
    views = make_transfer("shift", max_shift=3)
    x = impulses()
    ctx = views.context(x, partners_from_set=False)
    out = views.apply(x, np.random.default_rng(0), ctx)
    assert out.shape == x.shape and out.dtype == np.float32
    rows, cols = np.nonzero(out[:, 0].reshape(len(x), -1) == 1.0)
    dy, dx = np.unravel_index(cols, (16, 16))
    assert np.all(np.abs(dy - 8) <= 3) and np.all(np.abs(dx - 8) <= 3)
    assert len(set(zip(dy, dx, strict=True))) > 10  # many different shifts, not one
    again = views.apply(x, np.random.default_rng(0), ctx)
    assert np.array_equal(out, again)


def test_mixup_lambda_in_range_and_mixes_pairs():
    views = make_transfer("mixup", mixup_alpha=0.5)
    x = np.concatenate([np.zeros((50, 4), np.float32), np.ones((50, 4), np.float32)])  # vectors work too
    out = views.apply(x, np.random.default_rng(1), views.context(x, partners_from_set=False))
    assert np.all(out >= 0) and np.all(out <= 1)
    assert np.all(out == out[:, :1])  # one lambda per sample, for all its features
    assert np.mean((out[:, 0] > 0) & (out[:, 0] < 1)) > 0.05  # some inputs really are mixes
    same = views.apply(np.ones((8, 4), np.float32), np.random.default_rng(1), views.context(x, False))
    assert np.allclose(same, 1.0)  # a mix of equal inputs is that input


def test_shift_refused_on_vectors_and_combination_options():
    views = make_transfer("shift+mixup")
    x = np.zeros((10, 5), np.float32)
    with pytest.raises(OptionError, match="needs images"):
        views.apply(x, np.random.default_rng(0), views.context(x, False))
    with pytest.raises(OptionError, match="--mixup-alpha does not apply to --transfer shift"):
        make_transfer("shift", mixup_alpha=2)
    with pytest.raises(OptionError, match="no set to size"):
        make_transfer("shift+mixup", teacher_mode="online", transfer_size="5x")
    with pytest.raises(OptionError, match="unknown --transfer 'spin'"):
        make_transfer("spin")


def test_offline_views_set_on_sequences():
    x = np.random.default_rng(0).normal(size=(30, 2, 20)).astype(np.float32)
    y = np.arange(30) % 3
    shifted = make_transfer("shift", transfer_size="4x").build(x, y, seed=5)
    assert shifted.x.shape == (120, 2, 20) and np.array_equal(shifted.x[:30], x)
    assert np.array_equal(shifted.y[30:], y[np.arange(90) % 30])  # shifts keep their source's label
    mixed = make_transfer("shift+mixup", transfer_size="2x").build(x, y, seed=5)
    assert np.all(mixed.y[30:] == -1)  # a mix has no single label: only the teacher says what it is
    assert make_transfer("shift+mixup", transfer_size="2x").build(x, y, seed=5).info == mixed.info


# -- online teaching ----------------------------------------------------------------------------------------------


class SpyTeacher:
    """Records every input it labels; its logits are a fixed linear map of the inputs."""

    def __init__(self, features, classes):
        self.seen = []
        self.weight = np.random.default_rng(0).normal(size=(features, classes)).astype(np.float32)

    def logits(self, x):
        self.seen.append(np.array(x))
        return x.reshape(len(x), -1) @ self.weight


class SpyNet(torch.nn.Module):
    def __init__(self, features, classes):
        super().__init__()
        self.linear = torch.nn.Linear(features, classes)
        self.seen = []

    def forward(self, x):
        if self.training:
            self.seen.append(x.detach().numpy().copy())
        return self.linear(x.flatten(1))


def test_online_teacher_sees_exactly_the_students_batch():
    x = np.random.default_rng(0).normal(size=(40, 1, 6, 6)).astype(np.float32)
    y = np.arange(40) % 3
    teacher, net = SpyTeacher(36, 3), SpyNet(36, 3)
    views = make_transfer("shift+mixup", teacher_mode="online", max_shift=2)
    stream = OnlineViews(x, y, views, teacher, seed=0)
    t_val = teacher.logits(x[:10])
    teacher.seen.clear()
    config = TrainConfig(epochs=3, batch_size=16, patience=3)
    from kdedge.distillation.methods import make_method

    train(net, make_method("kd", temperature=1.0, alpha=1.0).loss, stream, Batches(x[:10], y[:10], t_val), config, 0)
    assert len(net.seen) == len(teacher.seen) == 9  # 3 epochs x 3 batches
    for student_input, teacher_input in zip(net.seen, teacher.seen, strict=True):
        assert np.array_equal(student_input, teacher_input)
    assert not any(np.array_equal(v[:1], x[:1]) for v in net.seen)  # views, not the raw rows
    assert not np.array_equal(net.seen[0], net.seen[3])  # new views every epoch


def test_online_refused_for_nonneural_and_feature_methods(tmp_path, digits, teacher_run):
    from kdedge.distillation.methods import make_method
    from kdedge.distillation.run import fit_run
    from kdedge.teachers import load_teacher

    online = make_transfer("shift", teacher_mode="online")
    common = dict(dataset=digits, data_source="digits", seed=0, teacher=load_teacher(teacher_run.path))
    with pytest.raises(OptionError, match="non-neural students learn from a fixed set"):
        fit_run(
            out=tmp_path / "t",
            kind="student",
            family="tree",
            options={},
            method=make_method("logits"),
            transfer=online,
            **common,
        )
    with pytest.raises(OptionError, match="feature stage"):
        fit_run(
            out=tmp_path / "f",
            kind="student",
            family="cnn",
            options={},
            method=make_method("fitnets"),
            transfer=online,
            **common,
        )
    assert not (tmp_path / "t").exists() and not (tmp_path / "f").exists()


# -- schedule and fidelity, checked against hand-computed values -------------------------------------------------


def test_lr_factor_warmup_then_cosine():
    assert lr_factor(0, 100, 10, "cosine") == pytest.approx(0.1)
    assert lr_factor(9, 100, 10, "cosine") == pytest.approx(1.0)
    assert lr_factor(10, 100, 10, "cosine") == pytest.approx(1.0)
    assert lr_factor(55, 100, 10, "cosine") == pytest.approx(0.5)  # halfway through the cosine part
    assert lr_factor(100, 100, 10, "cosine") == pytest.approx(0.0)
    assert lr_factor(50, 100, 0, "constant") == 1.0


def test_kl_teacher_student_by_hand():
    s = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    t = torch.tensor([[np.log(3.0), 0.0], [0.0, 0.0]])
    # row 1: p = (3/4, 1/4), q = (1/2, 1/2); row 2: p = (1/2, 1/2), q = (e²/(1+e²), 1/(1+e²))
    q2 = np.array([np.e**2, 1.0]) / (1 + np.e**2)
    row1 = 0.75 * np.log(0.75 / 0.5) + 0.25 * np.log(0.25 / 0.5)
    row2 = 0.5 * np.log(0.5 / q2[0]) + 0.5 * np.log(0.5 / q2[1])
    assert float(kl_teacher_student(s, t)) == pytest.approx((row1 + row2) / 2, rel=1e-5)


def test_select_by_agreement_needs_teacher_outputs():
    x = np.zeros((8, 4), np.float32)
    y = np.arange(8) % 2
    net = torch.nn.Linear(4, 2)
    config = TrainConfig(epochs=1, select_by="agreement")
    with pytest.raises(OptionError, match="--select-by agreement"):
        train(net, lambda s, t, lab: s.sum(), Batches(x, y), Batches(x, y), config, 0)
