"""`kdedge show RUN` and `kdedge compare RUN...`: what runs are, read from their manifests and stored bench files."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from kdedge.cli import app

runner = CliRunner()


def kdedge(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def benched(tmp_path_factory, kd_mlp_run, teacher_run):
    """Copies of the KD MLP and the teacher in one folder, benched with the JSON written beside them."""
    root = tmp_path_factory.mktemp("benched")
    for run in (kd_mlp_run, teacher_run):
        shutil.copytree(run.path, root / run.path.name)
    r = kdedge(
        "bench", root / "mlp", root / "teacher", "--min-runs", 3, "--min-seconds", 0, "--no-memory",
        "--out", root / "bench.json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    return root


def test_show_json_says_what_the_run_is(benched, kd_mlp_run):
    r = kdedge("show", benched / "mlp", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert (d["kind"], d["family"], d["n_params"]) == ("student", "mlp", kd_mlp_run.manifest.student.n_params)
    assert d["teacher"]["family"] == "cnn" and d["method"] == {"name": "kd", "temperature": 4.0, "alpha": 0.9}
    assert d["options"]["hidden"] == [64] and d["transfer"]["kind"] == "train"
    assert d["data"]["name"] == "digits" and d["data"]["sizes"]["test"] == 539
    assert d["metrics"]["test_accuracy"] == kd_mlp_run.metrics["test_accuracy"]
    sizes = {f["name"]: f["bytes"] for f in d["files"]}
    assert sizes["model.onnx"] == (benched / "mlp" / "model.onnx").stat().st_size == d["export"]["onnx_bytes"]
    assert sizes["kdedge.json"] > 0 and d["export"]["target"] == "cpu-fp32" and d["export"]["int8_bytes"] is None
    [row] = d["bench"]  # found in ../bench.json by the model's path
    stored = {r["name"]: r for r in json.loads((benched / "bench.json").read_text())["rows"]}["mlp"]
    assert row["p50_us"] == stored["latency"]["p50_us"] and row["agreement"] == stored["agreement"]
    assert row["file"] == str(benched / "bench.json")


def test_show_text(benched):
    r = kdedge("show", benched / "mlp")
    assert r.exit_code == 0, r.output
    text = r.stdout
    for expected in ("student mlp", "kd: temperature 4, alpha 0.9", "option hidden", "file model.onnx"):
        assert expected in text, expected
    assert "bench [bench.json]" in text and "p50 " in text and "cpu-fp32 (fp32, opset" in text
    r = kdedge("show", benched / "teacher")
    assert r.exit_code == 0 and "trained on labels" in r.stdout and "teacher cnn" in r.stdout


def test_compare_side_by_side(benched):
    r = kdedge("compare", benched / "mlp", benched / "teacher", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [d["kind"] for d in out["runs"]] == ["student", "teacher"]
    assert {"kind", "method", "params", "metric test_accuracy", "bench [bench.json]"} <= set(out["differ"])
    assert "seed" not in out["differ"]
    r = kdedge("compare", benched / "mlp", benched / "teacher")
    assert r.exit_code == 0, r.output
    header = next(line for line in r.stdout.splitlines() if "mlp" in line and "teacher" in line)
    assert header.index("mlp") < header.index("teacher")
    assert "kd: temperature 4" in r.stdout and "hard" in r.stdout and "seed " not in r.stdout
    assert "seed " in kdedge("compare", benched / "mlp", benched / "teacher", "--all").stdout


def test_compare_and_show_errors(benched, tmp_path):
    r = kdedge("compare", benched / "mlp")
    assert r.exit_code == 2 and "two or more" in r.output and r.output.count("\n") == 1
    r = kdedge("show", tmp_path / "nothing")
    assert r.exit_code == 2 and "no such run directory" in r.output


@pytest.fixture(scope="module")
def long_names(tmp_path_factory, kd_mlp_run, teacher_run):
    """The same runs under 40-character names (what a sweep or a recipe makes), benched."""
    root = tmp_path_factory.mktemp("long")
    names = ("mlp-hidden-64-kd-temperature-4-alpha-0.9", "teacher-cnn-channels-8-16-32-seed-0-full1")
    for run, name in zip((kd_mlp_run, teacher_run), names, strict=True):
        assert len(name) >= 40
        shutil.copytree(run.path, root / name)
    return root, [root / n for n in names]


@pytest.mark.parametrize("width", [80, 100])
def test_tables_fit_the_terminal_whatever_the_run_names(long_names, width, monkeypatch):
    """bench, compare and show respect $COLUMNS: long names fold onto more lines, no line is wider."""
    monkeypatch.setenv("COLUMNS", str(width))
    root, runs = long_names
    outputs = {
        "bench": kdedge("bench", *runs, "--min-runs", 3, "--min-seconds", 0, "--no-memory"),
        "compare": kdedge("compare", *runs, "--all"),
        "show": kdedge("show", runs[0]),
    }
    for command, result in outputs.items():
        assert result.exit_code == 0, result.output
        widest = max(len(line) for line in result.stdout.splitlines())
        assert widest <= width, f"{command}: a {widest}-character line at COLUMNS={width}\n{result.stdout}"
    assert "mlp-hi" in outputs["bench"].stdout  # the name is folded, not dropped
