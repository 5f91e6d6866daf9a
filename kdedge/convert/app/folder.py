"""What app exports share: the graphs they start from, and writing RUN/<folder>/ whole or not at all."""

from __future__ import annotations

from pathlib import Path

from ... import __version__
from ..._io import atomic_dir
from ...errors import ExportError
from ...runs import INT8_FILE, ONNX_FILE, Run, now

APP_FOLDERS = {"ort": "mobile", "web": "web"}  # a profile's `format` -> its folder in the run, its manifest key


def app_sources(run: Run, profile) -> list[tuple[str, Path]]:
    """(stem, path) of the graphs to ship: model.onnx, and model.int8.onnx when the last ONNX export kept it.
    Both must use standard ONNX operators only: a reduced mobile build and onnxruntime-web's WebAssembly build are
    not sure to carry onnxruntime's contrib operators."""
    from .. import STANDARD_DOMAINS

    sources = [("model", run.require_onnx())]
    int8 = run.path / INT8_FILE
    if int8.is_file() and (run.manifest.export or {}).get("int8"):
        sources.append(("model.int8", int8))
    for _, path in sources:
        found = sorted({f"{n.domain}.{n.op_type}" for n in _nodes(path) if n.domain not in STANDARD_DOMAINS})
        if found:
            raise ExportError(
                f"{path}: target '{profile.name}' runs standard ONNX operators only, the graph has "
                f"{', '.join(found)}; export it again with 'kdedge export {run.path} --target mobile-fp32' first"
            )
    return sources


def _nodes(path: Path):
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    yield from model.graph.node
    for function in model.functions:
        yield from function.node


def write_app_folder(run: Run, fmt: str, files: dict[str, bytes], record: dict) -> dict:
    """Swap RUN/<folder>/ in with exactly `files` and record the export under manifest.apps[<folder>]. The
    previous export's own files are replaced; a folder holding anything else is refused, nothing written."""
    folder = APP_FOLDERS[fmt]
    target = run.path / folder
    earlier = set(((run.manifest.apps or {}).get(folder) or {}).get("files", {}))
    if target.is_dir():
        foreign = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
        foreign = [name for name in foreign if name not in earlier]
        if foreign:
            raise ExportError(
                f"{target} holds {', '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}, which kdedge did not "
                "write; move it out of the folder, then export again (the folder is replaced on each export)"
            )
    with atomic_dir(target, overwrite=True, made_by_kdedge=lambda _: True) as out:
        for name, data in sorted(files.items()):
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(data)
    info = {
        "path": str(target),
        "files": {name: len(data) for name, data in sorted(files.items())},
        **record,
        "exported": now(),
        "kdedge": __version__,
    }
    run.update(apps={**(run.manifest.apps or {}), folder: info})
    return info


__all__ = ["APP_FOLDERS", "ONNX_FILE", "app_sources", "write_app_folder"]
