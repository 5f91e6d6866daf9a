"""LightGBM thresholds in float32 graphs: inputs that sit exactly between a float64 split threshold and its float32
rounding go the same way in the ONNX graph as in LightGBM (continuous inputs, e.g. mixup sets, meet them)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from kdedge.convert.lightgbm_onnx import _split_thresholds, boosters_to_onnx


def test_inputs_at_rounded_thresholds_take_lightgbm_s_branch():
    import lightgbm

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 4)).astype(np.float32)
    y = np.sin(3 * x[:, 0]) + x[:, 1] * x[:, 2] + 0.1 * rng.normal(size=3000)
    booster = lightgbm.LGBMRegressor(n_estimators=40, num_leaves=15, verbose=-1, n_jobs=1).fit(x, y).booster_

    # every threshold whose float32 rounding lies above it: that float32 value is where the two runtimes can differ
    up = [np.float32(t) for t in _split_thresholds(booster) if float(np.float32(t)) > t]
    assert up, "the booster has no threshold rounded upwards; pick another seed"
    probe = np.repeat(rng.normal(size=(1, 4)).astype(np.float32), len(up) * 4, axis=0)
    for i, value in enumerate(up):
        probe[4 * i : 4 * i + 4, :] = value  # every feature at that value: each split on it is tested

    core, output = boosters_to_onnx([booster], 4, 18)
    session = ort.InferenceSession(core.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run([output], {"features": probe})[0].ravel()
    np.testing.assert_allclose(got, booster.predict(probe), rtol=1e-5, atol=1e-5)
