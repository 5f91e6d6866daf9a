"""Export a run to ONNX for a deployment target: convert, attach metadata, pass the parity gate, move into place,
then, when the target's profile asks for int8, quantize and keep the int8 graph only if it fits the accuracy budget.

RUN/model.onnx is always the fp32 graph; RUN/model.int8.onnx is written beside it, so both can be benched.
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import __version__
from .._io import atomic_path
from ..errors import ExportError, OptionError
from ..runs import INT8_FILE, Run, now
from .parity import check_parity
from .profiles import DEFAULT_TARGET, Profile, load_profile

DEFAULT_OPSET = 18
META_PREFIX = "kdedge."
STANDARD_DOMAINS = ("", "ai.onnx", "ai.onnx.ml")  # what a reduced (mobile) onnxruntime build is sure to have


def metadata(
    run: Run, n_params: int, profile: Profile | None = None, precision: str = "fp32", scores: str = "logits"
) -> dict[str, str]:
    """metadata_props: enough for an app (and `kdedge bench --model`, `kdedge predict`) to use the graph alone.

    `normalization` is informational: the graph applies it itself and takes raw inputs. A shipped file names its
    run, teacher and data and gives their fingerprints, never a path: absolute paths would disclose the
    workstation's user names and folders to anyone who opens the app (the run record beside keeps the paths).
    """
    m = run.manifest
    data = m.data
    profile = profile or load_profile(DEFAULT_TARGET)
    return {
        "version": __version__,
        "kind": run.kind,
        "family": run.family,
        "class_names": json.dumps(data.class_names),
        "input_shape": json.dumps(["N", *data.sample_shape]),
        "input_layout": data.layout,
        "normalization": json.dumps(data.normalization),
        "n_params": str(n_params),
        "run": run.name,
        "run_fingerprint": m.weights_sha256,
        "teacher": json.dumps(_without_paths(m.teacher)),
        "method": json.dumps(m.method),
        "dataset_fingerprint": data.fingerprint,
        "data_source": _data_name(data),
        "data_seed": str(data.seed),
        "target": profile.name,
        "precision": precision,
        "graph_optimization": profile.graph_optimization,
        # logits: softmax(scores) are class probabilities (bench's KL to the teacher); regression: scores only rank
        "scores": scores,
    }


def _without_paths(record):
    """A record (the teacher's: one model, an average, a chain) with every path reduced to its last name; a key
    `path` becomes `name`."""
    if isinstance(record, dict):
        out = {k: _without_paths(v) for k, v in record.items() if k != "path"}
        if "path" in record:
            out.setdefault("name", Path(str(record["path"])).name)
        return out
    if isinstance(record, list):
        return [_without_paths(v) for v in record]
    if isinstance(record, str) and (record.startswith(("/", "~")) or ":\\" in record[:3]):
        return Path(record).name
    return record


def _data_name(data) -> str:
    """A built-in data set by its name; a file or folder by its name only (`kdedge.dataset_fingerprint` says which
    data exactly; tools that need the file read the run record beside the model, or ask for --data)."""
    from ..data import BUILTINS

    source = str(data.source)
    return source if source in BUILTINS else Path(source).name


def _scores_kind(student) -> str:
    return "logits" if getattr(student, "neural", False) else "regression"


def with_overrides(profile: Profile, **overrides) -> Profile:
    """The profile with CLI overrides (--opset, --calibration-size), validated like the file itself."""
    from pydantic import ValidationError

    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return profile
    try:
        return Profile(**{**profile.model_dump(), **given})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise OptionError(f"--{str(err['loc'][0]).replace('_', '-')}={err.get('input')!r}: {err['msg']}") from None


def export_run(
    run_path,
    opset: int | None = None,
    target=None,
    calibration_size: int | None = None,
    keep_slower_int8: bool = False,
) -> dict:
    """Write RUN/model.onnx if, and only if, it matches the native model on the test split; then, for an int8
    target, RUN/model.int8.onnx if its test accuracy stays within the target's budget (else ExportError) and it
    runs faster than fp32 at batch 1 on this machine (else `int8_skipped` says why; `keep_slower_int8` keeps it
    anyway, e.g. for a device whose int8 kernels are faster than this machine's)."""
    from ..outputs import writing

    profile = with_overrides(load_profile(target), opset=opset, calibration_size=calibration_size)
    _check_opset_known(profile)
    run = Run.load(run_path)  # before the lock: a missing run is one line, and no lock file beside it
    with writing(run.path):
        return _export_run(run, profile, keep_slower_int8)


def _check_opset_known(profile: Profile) -> None:
    import onnx

    newest = onnx.defs.onnx_opset_version()
    if profile.opset > newest:
        raise ExportError(
            f"opset {profile.opset}: the installed onnx {onnx.__version__} writes opsets up to {newest}; "
            f"pass --opset {newest} or lower (or upgrade onnx)"
        )


def _export_run(run: Run, profile: Profile, keep_slower_int8: bool = False) -> dict:
    import onnx

    from ..students import load_student
    from .converters import to_onnx
    from .graph import strip_build_traces

    student = load_student(run)
    if profile.format == "c":
        from .c import export_c

        return export_c(run, student, profile)
    if profile.format in ("ort", "web"):
        return _export_app(run, student, profile)
    dataset = run.dataset()
    x_test, y_test = dataset.split("test")
    model = to_onnx(student, profile.opset)
    _check_opset(model, profile, run)
    model.producer_name, model.producer_version = "kdedge", __version__
    model.graph.name = f"kdedge_{run.family}"  # skl2onnx names graphs by a random uuid: same seed, same bytes
    strip_build_traces(model)
    model.doc_string = (
        f"kdedge {run.kind} '{run.family}': input (N, {', '.join(map(str, student.sample_shape))}) "
        "raw float32 -> scores (N, K) float32, label (N,) int64"
    )
    props = metadata(run, student.n_params, profile, scores=_scores_kind(student))
    onnx.helper.set_model_props(model, {META_PREFIX + k: v for k, v in props.items()})
    onnx.checker.check_model(model)
    _check_ops(model, profile, run.onnx_path)
    model_bytes = model.SerializeToString()
    tolerance = student.parity_tolerance
    parity = check_parity(model_bytes, x_test, student.scores(x_test), tolerance, str(run.onnx_path))
    with atomic_path(run.onnx_path) as tmp:
        tmp.write_bytes(model_bytes)
    info = {
        "path": str(run.onnx_path),
        "opset": _graph_opset(model),  # what the file holds (an exporter may write a lower one than asked)
        "bytes": len(model_bytes),
        "parity": parity,
        "exported": now(),
        "target": profile.model_dump(),
        "int8": None,
    }
    if profile.quantized:
        info.update(_export_int8(run, student, model_bytes, profile, dataset, x_test, y_test, keep_slower_int8))
    run.update(export=info)
    if info.get("int8_refused"):
        r = info["int8_refused"]
        raise ExportError(
            f"{run.path}: {profile.precision} loses {r['accuracy_drop_points']:.2f} points of test accuracy "
            f"({r['fp32_accuracy']:.2%} -> {r['int8_accuracy']:.2%} on {r['samples']} samples, agreement with fp32 "
            f"{r['agreement_with_fp32']:.2%}), over the budget of {r['budget_points']:g} points of target "
            f"'{profile.name}'; kept the fp32 {run.onnx_path.name} only. Try int8-static with a larger "
            "--calibration-size, or a profile with a larger accuracy_budget"
        )
    return info


def _export_app(run: Run, student, profile: Profile) -> dict:
    """An app artifact starts from RUN/model.onnx: exported first (standard operators, the profile's opset) when
    the run has none yet."""
    from .app import export_app

    first = None
    if not run.onnx_path.is_file():
        first = _export_run(run, load_profile("mobile-fp32").model_copy(update={"opset": profile.opset}))
    info = export_app(run, student, profile)
    return {**info, "onnx_export": first} if first else info


def _export_int8(
    run: Run, student, fp32_bytes: bytes, profile: Profile, dataset, x_test, y_test, keep_slower: bool = False
) -> dict:
    """Quantize, compare with fp32 on the test split, and write RUN/model.int8.onnx if within budget and faster."""
    import onnx

    from . import quantize as q

    int8_path = run.path / INT8_FILE
    if not q.quantizable(student):
        return {
            "note": f"{run.family} graphs stay fp32 (model.onnx only): int8 quantization applies to the weight "
            "tensors of neural nets (MatMul, Gemm, Conv); tree and SVM operators have none"
        }
    calibration = None
    if profile.precision == "int8-static":
        x_train, _ = dataset.split("train")
        calibration = q.calibration_samples(x_train, profile.calibration_size, run.manifest.seed)
    int8_bytes, scheme = q.quantize(fp32_bytes, profile.precision, calibration)
    int8_model = onnx.load_from_string(int8_bytes)
    onnx.helper.set_model_props(
        int8_model,
        {
            **{p.key: p.value for p in int8_model.metadata_props},
            META_PREFIX + "precision": profile.precision,
            META_PREFIX + "quantization": scheme,
        },
    )
    _check_ops(int8_model, profile, int8_path)
    int8_bytes = int8_model.SerializeToString()
    figures = q.compare(fp32_bytes, int8_bytes, x_test, y_test, profile.accuracy_budget)
    if not figures["within_budget"]:
        int8_path.unlink(missing_ok=True)  # an older int8 graph would be mistaken for this export's
        return {"int8_refused": figures}
    speed = q.compare_speed(run.onnx_path, int8_bytes, x_test, profile.intra_op_threads[0], profile.graph_optimization)
    figures["speed"] = speed
    if not speed["faster"] and not keep_slower:
        int8_path.unlink(missing_ok=True)
        return {"int8_slower": figures, "int8_skipped": _slower_line(profile, speed)}
    with atomic_path(int8_path) as tmp:
        tmp.write_bytes(int8_bytes)
    found = {"int8": {"path": str(int8_path), "bytes": len(int8_bytes), "scheme": scheme, **figures}}
    if not speed["faster"]:  # kept on request
        found["note"] = _slower_line(profile, speed).replace("kept fp32 only", "kept int8 as asked, though slower here")
        found["note"] = found["note"].split(", so ")[0]
    elif profile.precision == "int8-dynamic" and q.has_conv(onnx.load_from_string(fp32_bytes)):
        found["note"] = (
            "dynamic quantization turns Conv into ConvInteger, often slower than fp32 on CPUs; "
            "for CNNs prefer --target cpu-int8-static (bench both to see)"
        )
    return found


def _slower_line(profile: Profile, speed: dict) -> str:
    return (
        f"kept fp32 only: {profile.precision} ran at {speed['int8_p50_us']:.1f} µs against "
        f"{speed['fp32_p50_us']:.1f} µs for fp32 (batch 1, {speed['threads']} thread(s), this machine), so "
        f"{INT8_FILE} was not written; --keep-slower-int8 writes it anyway (for a device whose int8 is faster)"
    )


def _check_opset(model, profile: Profile, run: Run) -> None:
    """Exporters may silently fall back to a higher opset than asked; a runtime limited to the target's opset
    would then refuse the file on the device, so refuse it here."""
    produced = _graph_opset(model)
    if produced > profile.opset:
        raise ExportError(
            f"{run.path}: the {run.family} exporter produced opset {produced}, above the opset of target "
            f"'{profile.name}' ({profile.opset}); use --opset {produced} or a profile with opset >= {produced}"
        )


def _graph_opset(model) -> int:
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)


def _check_ops(model, profile: Profile, what) -> None:
    if not profile.standard_ops_only:
        return
    found = sorted({f"{n.domain}.{n.op_type}" for n in model.graph.node if n.domain not in STANDARD_DOMAINS})
    if found:
        raise ExportError(
            f"{what}: target '{profile.name}' allows standard ONNX operators only, the graph has {', '.join(found)}; "
            "choose another --target"
        )
