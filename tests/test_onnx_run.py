"""Sessions run over a split in bounded batches (a whole split in one call held GBs of activations)."""

import numpy as np

from kdedge.onnx_run import run_batched


class CountingSession:
    def __init__(self):
        self.rows = []

    def run(self, outputs, feed):
        x = feed["input"]
        self.rows.append(len(x))
        return [x.sum(axis=1), x.argmax(axis=1)]


def test_rows_go_through_in_batches_and_come_back_in_order():
    x = np.arange(2500 * 3, dtype=np.float32).reshape(2500, 3)
    session = CountingSession()
    sums, labels = run_batched(session, ["scores", "label"], x)
    assert session.rows == [1024, 1024, 452]
    np.testing.assert_array_equal(sums, x.sum(axis=1))
    np.testing.assert_array_equal(labels, x.argmax(axis=1))


def test_the_run_teacher_matches_the_native_model_in_batches(teacher_run, digits):
    from kdedge.teachers import load_teacher

    teacher = load_teacher(teacher_run.path).bind(digits)
    x = digits.split("train")[0]
    native = teacher.logits(x)
    teacher.use_onnxruntime(len(x))  # the exported model.onnx
    assert getattr(teacher, "_session", None) is not None
    np.testing.assert_allclose(teacher.logits(x), native, rtol=1e-4, atol=1e-4)
