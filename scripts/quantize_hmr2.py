#!/usr/bin/env python3
"""Quantize an HMR2 ONNX model to int8 weights for the CPU (docs/gpu.md, "Precision").

    python scripts/quantize_hmr2.py hmr2.onnx hmr2.int8.onnx

Runs ONNX Runtime's dynamic quantization: the MatMul/Gemm weights become int8, one scale
per output channel; activations are quantized on the fly at run time. The result keeps
posekit's HMR2 contract (docs/hmr2-onnx.md): the same input and outputs, all float32.

- The weights go to `OUT.data` beside `OUT` (ONNX external data), as the fp32 export's do.
- The model's metadata says `precision = int8` (and what it was made from and with), so
  `posekit process` writes the precision in its result header without being told.
- Deterministic: the same input and tool versions give the same bytes. The tool versions
  are pinned (below, and in scripts/requirements-convert.txt); another version refuses to
  run unless `--any-version` is given, because its output would differ.
- Prints (and writes to `OUT.json`) the sha256 of both files and the tool versions.
- Nothing is replaced: the run refuses when `OUT`, `OUT.data` or `OUT.json` exists.

Needs `onnx` and `onnxruntime` (the convert venv: scripts/requirements-convert.txt).
About a minute and 6 GB of memory for the 2.7 GB HMR2-size proxy.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from onnx_tools import sha256_file

PINNED = {"onnx": "1.17.0", "onnxruntime": "1.31.1"}


def tool_versions():
    import onnx
    import onnxruntime

    return {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}


def check_versions(versions, allow_other):
    wrong = {k: v for k, v in versions.items() if PINNED[k] != v}
    if wrong and not allow_other:
        found = ", ".join(f"{k} {v} (pinned {PINNED[k]})" for k, v in wrong.items())
        sys.exit(f"quantize_hmr2: {found}.\nFix: pip install -r scripts/requirements-convert.txt, "
                 "or pass --any-version (the output will then differ from the pinned tools')")


def quantize(source, target):
    """Dynamic int8, per channel, into `target` (whose folder must hold no `.data` of that
    name: onnx appends to an existing external data file)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        use_external_data_format=True,
    )


def stamp(target, metadata):
    """Writes `metadata` into the model's metadata_props, leaving the external data as it is
    (the weights are not loaded, so only the small .onnx is rewritten)."""
    import onnx

    model = onnx.load(str(target), load_external_data=False)
    kept = [p for p in model.metadata_props if p.key not in metadata]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in sorted(metadata.items()):
        model.metadata_props.add(key=key, value=value)
    onnx.save_model(model, str(target))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path, help="the fp32 HMR2 .onnx (its .data beside it)")
    ap.add_argument("output", type=Path, help="the int8 .onnx to write; weights go to OUTPUT.data")
    ap.add_argument("--any-version", action="store_true", help="run with other onnx/onnxruntime versions")
    args = ap.parse_args()

    versions = tool_versions()
    check_versions(versions, args.any_version)
    out = args.output
    data = out.with_name(out.name + ".data")
    report_path = out.with_name(out.name + ".json")
    for path in (out, data, report_path):
        if path.exists():
            sys.exit(f"quantize_hmr2: {path} exists; refusing to replace it.\nFix: choose another OUTPUT or remove it")
    if not args.model.is_file():
        sys.exit(f"quantize_hmr2: {args.model}: no such file")

    source_sha = sha256_file(args.model)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Built under a scratch folder beside the output, then moved in: a failed run leaves
    # nothing half-written under the real names.
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".quantize-") as tmp:
        staged = Path(tmp) / out.name
        quantize(args.model, staged)
        stamp(staged, {
            "precision": "int8",
            "quantization": "onnxruntime.quantization.quantize_dynamic QInt8 per_channel",
            "quantized_from_sha256": source_sha,
            "quantized_with": f"onnx {versions['onnx']}, onnxruntime {versions['onnxruntime']}",
        })
        staged_data = Path(tmp) / data.name
        report = {
            "model": str(out),
            "sha256": sha256_file(staged),
            "data": str(data),
            "data_sha256": sha256_file(staged_data) if staged_data.exists() else None,
            "bytes": staged.stat().st_size + (staged_data.stat().st_size if staged_data.exists() else 0),
            "precision": "int8",
            "source": str(args.model),
            "source_sha256": source_sha,
            "tools": versions,
        }
        if staged_data.exists():
            os.link(staged_data, data)  # fails rather than replace a file made meanwhile
        os.link(staged, out)
    with open(report_path, "x") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
