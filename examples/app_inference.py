"""What an app does with a kdedge model: numpy + onnxruntime only, raw inputs, class names from the metadata.

.venv/bin/python examples/app_inference.py runs/mlp/model.onnx
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import onnxruntime as ort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    args = parser.parse_args()

    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    class_names = json.loads(meta["kdedge.class_names"])
    shape = [1 if d == "N" else d for d in json.loads(meta["kdedge.input_shape"])]

    # Raw inputs, exactly as the data set stores them: normalization is inside the graph.
    with np.load(_digits_path(), allow_pickle=False) as f:
        x = f["x"][:5].astype(np.float32).reshape(-1, *shape[1:])
        y = f["y"][:5]
    scores, labels = session.run(["scores", "label"], {"input": x})
    for truth, label, row in zip(y, labels, scores, strict=True):
        print(f"true {truth}  predicted {class_names[label]}  (score {row[label]:.2f})")


def _digits_path() -> str:
    from importlib.resources import files

    return str(files("kdedge.data") / "digits.npz")


if __name__ == "__main__":
    main()
