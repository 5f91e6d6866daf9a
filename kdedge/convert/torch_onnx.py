"""Torch module -> ONNX with outputs `scores` (the logits) and `label` (their argmax)."""

from __future__ import annotations

import logging
import warnings

import torch


class _ScoresAndLabel(torch.nn.Module):
    def __init__(self, module: torch.nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x):
        scores = self.module(x)
        return scores, torch.argmax(scores, dim=1)


def torch_to_onnx(module: torch.nn.Module, sample_shape, opset: int):
    """Export with the dynamo exporter (torch >= 2.9's default, needs onnxscript) and a dynamic batch.

    The example batch has 2 rows: a batch of 1 lets the exporter specialize the batch dimension.
    """
    import onnx

    module.eval()
    wrapper = _ScoresAndLabel(module).eval()
    example = torch.zeros((2, *sample_shape), dtype=torch.float32)
    batch = torch.export.Dim("batch", min=1)
    # The exporter logs one warning per missing torchvision op and more; none concern these nets.
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            wrapper,
            (example,),
            dynamo=True,
            input_names=["input"],
            output_names=["scores", "label"],
            dynamic_shapes=({0: batch},),
            opset_version=opset,
            verbose=False,
        )
    return onnx.load_from_string(program.model_proto.SerializeToString())
