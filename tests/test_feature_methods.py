"""FitNets and FSP: the math against hand-computed values, and both methods on real small ResNets."""

import numpy as np
import pytest
import torch

from kdedge.distillation.features import params_feeding
from kdedge.distillation.fitnets import hint_loss
from kdedge.distillation.fsp import Pair, fsp_loss, fsp_matrix, parse_pairs, teacher_flow
from kdedge.distillation.methods import make_method
from kdedge.distillation.run import fit_run
from kdedge.distillation.strategies import AveragedTeacher
from kdedge.errors import OptionError
from kdedge.teachers import load_teacher

# -- the math, by hand --


def test_fsp_matrix_by_hand():
    f1 = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])  # (1, 2 channels, 2, 2)
    f2 = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]], [[2.0, 2.0], [2.0, 2.0]]]])
    # G_ij = sum_{s,t} F1(s,t,i) F2(s,t,j) / (h*w)
    expected = [[(1 + 4) / 4, (2 + 4 + 6 + 8) / 4], [1 / 4, (2 + 2) / 4]]
    np.testing.assert_allclose(fsp_matrix(f1, f2)[0].numpy(), expected)


def test_fsp_matrix_max_pools_the_larger_map():
    f1 = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])  # 2x2 -> max-pooled to 1x1: [4, 1]
    f2 = torch.tensor([[[[5.0]], [[-2.0]], [[0.5]]]])  # (1, 3, 1, 1)
    np.testing.assert_allclose(fsp_matrix(f1, f2)[0].numpy(), [[20, -8, 2], [5, -2, 0.5]])
    np.testing.assert_allclose(fsp_matrix(f2, f1)[0].numpy(), [[20, 5], [-8, -2], [2, 0.5]])


def test_fsp_loss_by_hand():
    # two pairs: a 1x2 matrix and a 2x1 matrix side by side, weights 1 and 0.5, a batch of two samples
    teacher = torch.tensor([[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    student = torch.tensor([[0.0, 2.0, 1.0, 3.0], [0.0, 1.0, 1.0, 0.0]])
    per_sample_pair1 = [1.0, 1.0]  # ||G_T - G_S||^2 of pair 1 for each sample
    per_sample_pair2 = [1 + 9, 0 + 1]
    expected = 1.0 * np.mean(per_sample_pair1) + 0.5 * np.mean(per_sample_pair2)
    assert float(fsp_loss(student, teacher, [2, 2], [1.0, 0.5])) == pytest.approx(expected)


def test_hint_loss_by_hand():
    hint = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    regressed = torch.tensor([[1.0, 0.0, 3.0], [1.0, 1.0, 1.0]])
    assert float(hint_loss(regressed, hint)) == pytest.approx(0.5 * (4 + 3) / 2)  # ½‖·‖² per sample, batch mean


def test_pairs_syntax():
    assert parse_pairs("stem:stage1, stage1:stage2") == [
        Pair(("stem", "stage1"), ("stem", "stage1")),
        Pair(("stage1", "stage2"), ("stage1", "stage2")),
    ]
    assert parse_pairs("a:b=c:d") == [Pair(("a", "b"), ("c", "d"))]
    with pytest.raises(OptionError, match="FIRST:SECOND"):
        parse_pairs("stage1")


# -- on real small models --


@pytest.fixture(scope="module")
def resnet_teacher(tmp_path_factory, digits):
    out = tmp_path_factory.mktemp("feat") / "resnet-teacher"
    run = fit_run(
        out=out, kind="teacher", family="resnet", options={"depth": 14, "width": 4, "epochs": 6},
        method=make_method("hard"), dataset=digits, data_source="digits", seed=0,
    )  # fmt: skip
    return load_teacher(run.path)


def _student(tmp_path, digits, teacher, method, **options):
    return fit_run(
        out=tmp_path / method.name, kind="student", family="resnet",
        options={"depth": 8, "width": 4, "epochs": 6, **options}, method=method, dataset=digits,
        data_source="digits", seed=0, teacher=teacher,
    )  # fmt: skip


def test_fitnets_trains_the_guided_part_then_everything(tmp_path, digits, resnet_teacher):
    method = make_method("fitnets", hint_layer="stage2", guided_layer="stage1", stage1_epochs=3)
    run = _student(tmp_path, digits, resnet_teacher, method)
    m = run.manifest.metrics
    stage1 = m["stage1"]
    assert stage1["val_hint_loss"] < stage1["val_hint_loss_first_epoch"]  # the hint stage learned something
    assert stage1["hint_size"] == 8 * 4 * 4  # the teacher's stage2 map; the student's stage1 (8x8) is pooled to it
    assert m["test_accuracy"] > 0.5 and run.manifest.method["hint_layer"] == "stage2"


def test_the_hint_stage_moves_only_what_feeds_the_guided_layer(digits):
    from kdedge import nets

    stats = digits.normalization
    net = nets.build("resnet", (1, 8, 8), 10, stats.mean, stats.std, depth=8, width=4)
    names = {id(p): n for n, p in net.named_parameters()}
    feeding = {names[id(p)].split(".")[0] for p in params_feeding(net, ["stage1"], torch.zeros(2, 1, 8, 8))}
    assert feeding == {"stem", "stage1"}


def test_fsp_student_with_automatic_stage_pairs(tmp_path, digits, resnet_teacher):
    run = _student(tmp_path, digits, resnet_teacher, make_method("fsp", stage1_epochs=3))
    stage1 = run.manifest.metrics["stage1"]
    assert stage1["pairs"] == ["stem:stage1", "stage1:stage2", "stage2:stage3"]
    assert stage1["val_fsp_loss"] < stage1["val_fsp_loss_first_epoch"]
    assert run.manifest.metrics["test_accuracy"] > 0.5


def test_teacher_flow_is_computed_once_and_shuffle_permutes_rows_and_columns(digits, resnet_teacher):
    x, _ = digits.split("val")
    pairs = parse_pairs("stem:stage1,stage1:stage2")
    plain = teacher_flow(resnet_teacher, x, pairs, shuffle=None)
    shuffled = teacher_flow(resnet_teacher, x, pairs, shuffle=7)
    assert plain.shape == (len(x), 4 * 4 + 4 * 8)
    feats = resnet_teacher.features(x[:2], ["stem", "stage1", "stage2"])
    rng = np.random.default_rng(7)  # one generator, drawn in layer order
    perm = {k: rng.permutation(feats[k].shape[1]) for k in ("stem", "stage1", "stage2")}
    g1 = plain[:, :16].reshape(-1, 4, 4)[:, perm["stem"]][:, :, perm["stage1"]]
    g2 = plain[:, 16:].reshape(-1, 4, 8)[:, perm["stage1"]][:, :, perm["stage2"]]
    np.testing.assert_allclose(shuffled, np.concatenate([g1.reshape(len(x), -1), g2.reshape(len(x), -1)], 1))

    class Counting:  # the teacher's layers are read once per transfer set, not once per epoch
        def __init__(self, inner):
            self.inner, self.calls = inner, 0

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def features(self, x, layers):
            self.calls += 1
            return self.inner.features(x, layers)

    from kdedge.distillation.fsp import train_fsp
    from kdedge.distillation.loop import Batches, TrainConfig
    from kdedge.students import make_params, student_class

    xt, yt = (a[:256] for a in digits.split("train"))
    calls = []
    for epochs in (1, 3):
        counting = Counting(resnet_teacher)
        params = make_params("resnet", {"depth": 8, "width": 4})
        student = student_class("resnet")(params, digits.sample_shape, 10, digits.normalization)
        method = make_method("fsp", fsp_pairs="stem:stage1", stage1_epochs=epochs, alpha=0.0)
        config = TrainConfig(epochs=1)
        train_fsp(method, student.module, Batches(xt, yt), Batches(x, digits.split("val")[1]), config, 0, "t", counting)
        calls.append(counting.calls)
    assert calls[0] == calls[1]


def test_feature_methods_refuse_teachers_without_layers_and_mismatched_channels(tmp_path, digits, resnet_teacher):
    averaged = AveragedTeacher([resnet_teacher, resnet_teacher])
    with pytest.raises(OptionError, match="intermediate layers"):
        _student(tmp_path, digits, averaged, make_method("fitnets"))
    with pytest.raises(OptionError, match="same channel counts"):
        _student(tmp_path, digits, resnet_teacher, make_method("fsp", stage1_epochs=1), width=8)
    with pytest.raises(OptionError, match="no layer 'stage7'"):
        _student(tmp_path, digits, resnet_teacher, make_method("fitnets", hint_layer="stage7"))
    assert not any(tmp_path.iterdir())
