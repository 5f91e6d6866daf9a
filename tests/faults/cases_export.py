"""`kdedge export`: runs whose manifest, weights or record is damaged, and targets (profiles) that cannot be used."""

from __future__ import annotations

from .kit import Case, given, skops_dict


def export(ws, run, *extra):
    return ["export", run, *extra]


def profile(ws, text: str | bytes):
    return ws.file("p.toml", text)


CASES = [
    # -- the run ----------------------------------------------------------------------------------------------------
    Case("run-missing", lambda ws: export(ws, ws.root / "nowhere"), "nowhere"),
    Case("run-empty-folder", lambda ws: export(ws, ws.folder("empty")), "not a kdedge run"),
    Case("manifest-not-json", lambda ws: export(ws, ws.file("runs/x/kdedge.json", "{").parent), "kdedge.json"),
    Case("manifest-empty", lambda ws: export(ws, ws.replaced("mlp", "kdedge.json", b"")), "kdedge.json"),
    Case("manifest-a-list", lambda ws: export(ws, ws.replaced("mlp", "kdedge.json", "[1, 2]")), "kdedge.json"),
    Case(
        "manifest-not-utf8",
        lambda ws: export(ws, ws.replaced("mlp", "kdedge.json", b'{"kind": "\xff"}')),
        "kdedge.json",
    ),
    Case("manifest-no-student", lambda ws: export(ws, ws.edited("mlp", lambda m: m.pop("student"))), "student"),
    Case("manifest-kind-bogus", lambda ws: export(ws, ws.edited("mlp", lambda m: m.update(kind="banana"))), "kind"),
    Case(
        "manifest-family-bogus",
        lambda ws: export(ws, ws.edited("mlp", lambda m: m.update(family="quantum"))),
        "is not one this kdedge knows",
    ),
    Case(
        "manifest-schema-future",
        lambda ws: export(ws, ws.edited("mlp", lambda m: m.update(schema_version=99))),
        "schema",
    ),
    Case(
        "manifest-hidden-abc",
        lambda ws: export(ws, ws.edited("mlp", lambda m: m["student"]["params"].update(hidden="abc"))),
        "hidden",
    ),
    Case(
        "manifest-sample-shape",
        lambda ws: export(ws, ws.edited("mlp", lambda m: m["data"].update(sample_shape=[1, 4, 4]))),
        "mlp",
    ),
    Case(
        "manifest-weights-missing",
        lambda ws: export(ws, ws.edited("mlp", lambda m: m.update(weights=["gone.safetensors"]))),
        "gone.safetensors",
    ),
    Case(
        "manifest-weights-outside",
        lambda ws: given(
            ws.file("secret", "x"), export(ws, ws.edited("mlp", lambda m: m.update(weights=["../../secret"])))
        ),
        "not a file inside the run",
    ),
    Case(
        "manifest-weights-absolute",
        lambda ws: export(ws, ws.edited("mlp", lambda m: m.update(weights=[str(ws.file("secret", "x"))]))),
        "not a file inside the run",
    ),
    Case(
        "manifest-schema-text",
        lambda ws: export(ws, ws.edited("mlp", lambda m: m.update(schema_version="one"))),
        "schema_version",
    ),
    Case(
        "weights-deleted",
        lambda ws: export(ws, ws.without("mlp", "weights.safetensors")),
        "weights.safetensors",
    ),
    Case("safetensors-truncated", lambda ws: export(ws, ws.truncated("mlp", "weights.safetensors")), "changed since"),
    Case(
        "safetensors-truncated-unfingerprinted",
        lambda ws: export(ws, ws.truncated("mlp", "weights.safetensors", fingerprinted=False)),
        "cannot load",
    ),
    Case(
        "skops-truncated",
        lambda ws: export(ws, ws.truncated("tree", "pipeline.skops", fingerprinted=False)),
        "cannot load",
    ),
    Case("skops-dict", lambda ws: export(ws, skops_dict(ws)), "holds a dict"),
    Case(
        "lightgbm-truncated",
        lambda ws: export(ws, ws.truncated("gbdt", "gbdt_0.txt", keep=0.3, fingerprinted=False)),
        "truncated LightGBM",
    ),
    Case("second-run-missing", lambda ws: export(ws, ws.run("mlp"), ws.root / "nowhere"), "nowhere"),
    # -- the target -------------------------------------------------------------------------------------------------
    Case("target-unknown", lambda ws: export(ws, ws.run("mlp"), "--target", "gpu-fp64"), "gpu-fp64"),
    Case("target-file-missing", lambda ws: export(ws, ws.run("mlp"), "--target", ws.root / "p.toml"), "p.toml"),
    Case("profile-not-toml", lambda ws: export(ws, ws.run("mlp"), "--target", profile(ws, "precision = [")), "p.toml"),
    Case(
        "profile-not-utf8",
        lambda ws: export(ws, ws.run("mlp"), "--target", profile(ws, b'description = "\xff"\n')),
        "UTF-8",
    ),
    Case(
        "profile-unknown-key",
        lambda ws: export(ws, ws.run("mlp"), "--target", profile(ws, "colour = 'blue'\n")),
        "colour",
    ),
    Case(
        "profile-precision-bogus",
        lambda ws: export(ws, ws.run("mlp"), "--target", profile(ws, "precision = 'fp7'\n")),
        "fp7",
    ),
    Case("opset-99", lambda ws: export(ws, ws.run("mlp"), "--opset", 99), "opset 99"),
    Case("opset-0", lambda ws: export(ws, ws.run("mlp"), "--opset", 0), "--opset=0"),
    # -- C export ---------------------------------------------------------------------------------------------------
    Case("c-int8-for-a-tree", lambda ws: export(ws, ws.run("tree"), "--target", "c-int8"), "no int8 C export"),
    Case(
        "c-profile-int8-dynamic",
        lambda ws: export(ws, ws.run("mlp"), "--target", profile(ws, 'format = "c"\nprecision = "int8-dynamic"\n')),
        "no int8-dynamic variant",
    ),
    Case(
        "c-profile-unknown-mcu",
        lambda ws: export(ws, ws.run("mlp"), "--target", profile(ws, 'format = "c"\nmcu = "cortex-m7"\n')),
        "cortex-m7",
    ),
    Case(
        "c-folder-holds-a-users-file",
        lambda ws: given(
            ws.run("mlp"), given(ws.file("runs/mlp/c/notes.txt", "mine"), export(ws, ws.run("mlp"), "--target", "c"))
        ),
        "holds notes.txt",
    ),
    Case(
        "calibration-size-0",
        lambda ws: export(ws, ws.run("mlp"), "--target", "cpu-int8-static", "--calibration-size", 0),
        "calibration",
    ),
]
