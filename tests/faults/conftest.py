from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def made(tmp_path_factory, teacher_run, kd_mlp_run):
    """The session's teacher and KD MLP, plus a tree (skops) and a LightGBM student: the runs cases copy."""
    from kdedge.api import distill

    root = tmp_path_factory.mktemp("made")
    runs = {"teacher": teacher_run.path, "mlp": kd_mlp_run.path}
    for family, options in (("tree", {"max_depth": 4}), ("gbdt", {"n_estimators": 5, "num_leaves": 4})):
        runs[family] = distill(teacher_run.path, out=root / family, student=family, method="logits", **options).path
    return runs
