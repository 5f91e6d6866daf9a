"""Export profiles: the shipped targets, validation of a bad profile, and each target on an MLP and a CNN."""

import json
import shutil

import onnx
import pytest
from typer.testing import CliRunner

from kdedge import measure as bench_lib
from kdedge.cli import app
from kdedge.convert import INT8_FILE, export_run
from kdedge.convert.profiles import list_profiles, load_profile
from kdedge.errors import ExportError, OptionError
from kdedge.runs import Run

runner = CliRunner()
SHIPPED = [
    "arm-a53-int8",
    "c-host",
    "c-int8",
    "cpu-fp32",
    "cpu-int8-dynamic",
    "cpu-int8-static",
    "mcu-cortex-m0plus-int8",
    "mcu-cortex-m4",
    "mcu-cortex-m4-int8",
    "mobile",
    "mobile-fp32",
    "web",
]
QUICK_LATENCY = {"min_runs": 3, "min_seconds": 0.0, "warmup_runs": 1, "warmup_seconds": 0.0}


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_shipped_profiles():
    profiles = {p.name: p for p in list_profiles()}
    assert sorted(profiles) == SHIPPED
    assert load_profile(None).name == "cpu-fp32" and load_profile(None).precision == "fp32"
    arm = profiles["arm-a53-int8"]
    assert arm.precision.startswith("int8") and arm.batch_sizes == [1] and arm.intra_op_threads == [1, 2, 4]
    mobile = profiles["mobile-fp32"]
    assert mobile.precision == "fp32" and mobile.batch_sizes == [1] and mobile.standard_ops_only
    assert mobile.graph_optimization == "basic"
    assert profiles["cpu-int8-static"].accuracy_budget == 1.0 and profiles["cpu-int8-static"].calibration_size > 0
    assert load_profile("c") == profiles["c-host"] and profiles["c-host"].format == "c"
    assert profiles["mcu-cortex-m4"].mcu == "cortex-m4" and profiles["mcu-cortex-m4"].max_flash_kb > 0
    assert profiles["c-int8"].format == "c" and profiles["c-int8"].precision == "int8-static"
    assert profiles["mcu-cortex-m0plus-int8"].mcu == "cortex-m0plus" and profiles["mcu-cortex-m0plus-int8"].max_ram_kb
    # the repo's exporters/ (what users pass by path) holds the same files as the package
    assert load_profile("exporters/cpu-int8-static.toml") == profiles["cpu-int8-static"]


def test_targets_command_lists_them():
    r = runner.invoke(app, ["targets"])
    assert r.exit_code == 0, r.output
    for name in SHIPPED:
        assert name in r.output
    listed = json.loads(runner.invoke(app, ["targets", "--json"]).output)
    assert [p["name"] for p in listed] == SHIPPED
    assert {"precision", "opset", "description"} <= set(listed[0])


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('precision = "int9"\n', ["precision = 'int9'", "fp32, int8-dynamic, int8-static"]),
        ('precison = "fp32"\n', ["unknown key 'precison'", "allowed keys:", "precision"]),
        ("accuracy_budget = -1\n", ["accuracy_budget = -1", "greater than or equal to 0"]),
        ("batch_sizes = [1, 0]\n", ["batch_sizes[1] = 0", "greater than or equal to 1"]),
        ('graph_optimization = "max"\n', ["graph_optimization", "disable, basic, extended, all"]),
        ("opset = \n", ["not valid TOML"]),
    ],
)
def test_bad_profile_is_one_line(tmp_path, kd_mlp_run, content, expected):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    line = _one_error_line(runner.invoke(app, ["export", str(kd_mlp_run.path), "--target", str(path)]))
    assert str(path) in line
    for text in expected:
        assert text in line


def test_unknown_target_name(kd_mlp_run):
    line = _one_error_line(runner.invoke(app, ["export", str(kd_mlp_run.path), "--target", "gpu-fp8"]))
    assert "unknown --target 'gpu-fp8'" in line and "cpu-int8-static" in line
    with pytest.raises(OptionError, match="no such profile file"):
        load_profile("missing.toml")


@pytest.mark.parametrize("target", [t for t in SHIPPED if load_profile(t).format == "onnx"])  # C: test_c_export.py
@pytest.mark.parametrize("fixture", ["kd_mlp_run", "teacher_run"])
def test_each_target_on_mlp_and_cnn(request, tmp_path, digits, fixture, target):
    """Export (parity gate for fp32, accuracy budget for int8), metadata, manifest, then bench both graphs."""
    source = request.getfixturevalue(fixture)
    run_dir = tmp_path / source.path.name
    shutil.copytree(source.path, run_dir)  # the session fixtures stay as they are
    profile = load_profile(target)

    info = export_run(run_dir, target=target, keep_slower_int8=True)  # the graphs, not which is faster here

    assert info["parity"]["label_agreement"] == 1.0 and info["target"]["name"] == target
    meta = {p.key: p.value for p in onnx.load(str(run_dir / "model.onnx")).metadata_props}
    assert meta["kdedge.target"] == target and meta["kdedge.precision"] == "fp32"
    assert meta["kdedge.graph_optimization"] == profile.graph_optimization
    manifest = Run.load(run_dir).manifest.export
    entries = [bench_lib.Entry("fp32", run_dir / "model.onnx")]
    if profile.quantized:
        q = info["int8"]
        assert (run_dir / INT8_FILE).is_file() and manifest["int8"]["path"] == str(run_dir / INT8_FILE)
        assert q["accuracy_drop_points"] <= profile.accuracy_budget and q["agreement_with_fp32"] > 0.95
        assert q["bytes"] < info["bytes"]  # int8 weights
        int8_meta = {p.key: p.value for p in onnx.load(str(run_dir / INT8_FILE)).metadata_props}
        assert int8_meta["kdedge.precision"] == profile.precision
        assert json.loads(int8_meta["kdedge.class_names"]) == digits.class_names
        entries.append(bench_lib.Entry("int8", run_dir / INT8_FILE))
    else:
        assert manifest["int8"] is None and not (run_dir / INT8_FILE).exists()
    if profile.standard_ops_only:
        graph = onnx.load(str(run_dir / "model.onnx")).graph
        assert {n.domain for n in graph.node} <= {"", "ai.onnx"}

    x, y = digits.split("test")
    result = bench_lib.bench(
        entries,
        x,
        y,
        threads=profile.intra_op_threads[:1],
        batches=profile.batch_sizes[:2],
        memory=False,
        floor=False,
        latency_options=QUICK_LATENCY,
    )
    for row in result["rows"]:
        assert row["accuracy"] > 0.9
        assert [b["batch"] for b in row["latencies"]] == profile.batch_sizes[:2]
        assert all(b["optimization"] == profile.graph_optimization for b in row["latencies"])


def test_opset_above_the_target_is_refused(tmp_path, teacher_run):
    """The torch exporter falls back to opset 18 when asked for 17; a device limited to 17 would reject it."""
    run_dir = tmp_path / "teacher"
    shutil.copytree(teacher_run.path, run_dir)
    before = (run_dir / "model.onnx").read_bytes()
    with pytest.raises(ExportError, match="produced opset 18, above the opset of target 'mobile-fp32' \\(17\\)"):
        export_run(run_dir, target="mobile-fp32", opset=17)
    assert (run_dir / "model.onnx").read_bytes() == before


def test_cli_overrides_are_validated(kd_mlp_run):
    line = _one_error_line(
        runner.invoke(app, ["export", str(kd_mlp_run.path), "--target", "cpu-int8-static", "--calibration-size", "0"])
    )
    assert "--calibration-size=0" in line and "greater than or equal to 1" in line
