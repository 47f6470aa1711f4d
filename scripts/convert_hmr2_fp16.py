#!/usr/bin/env python3
"""Convert an HMR2 ONNX model to fp16 weights and compute, for the GPU (docs/gpu.md).

    python scripts/convert_hmr2_fp16.py hmr2.onnx hmr2.fp16.onnx
    python scripts/convert_hmr2_fp16.py hmr2.onnx hmr2.fp16.onnx --check 4

- The input `img` and every output stay float32 (Casts at the edges), so the file keeps
  posekit's HMR2 contract (docs/hmr2-onnx.md) and posekit needs no change to run it.
- Uses onnxruntime's own converter (`onnxruntime.transformers.float16`), with its default
  list of ops kept in fp32; values beyond fp16's range are clamped.
- The weights go to `OUT.data` beside `OUT`; the metadata says `precision = fp16`.
- `--check N` runs both models with onnxruntime on the CPU on N random crops and prints
  the largest difference per output and the rotation error in degrees. (ONNX Runtime has
  no fast fp16 path on x86 CPUs: that run is for the difference, not for speed.)
- Nothing is replaced: the run refuses when `OUT` or `OUT.data` exists.

Needs `onnx` and `onnxruntime` (scripts/requirements-convert.txt); for the 2.7 GB model
about 8 GB of memory.
"""

import argparse
import sys
from pathlib import Path

from onnx_tools import sha256_file

PINNED = {"onnx": "1.17.0", "onnxruntime": "1.31.1"}


def convert(source, target):
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    # The converter needs every value's type; onnx's in-memory shape inference cannot
    # take a >2 GB proto, so it runs on the files, into a scratch copy beside the output.
    inferred = target.with_name(target.name + ".shapes.onnx")
    try:
        onnx.shape_inference.infer_shapes_path(str(source), str(inferred))
        model = onnx.load(str(inferred), load_external_data=False)
        onnx.load_external_data_for_model(model, str(source.parent))
    finally:
        inferred.unlink(missing_ok=True)
    half = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=True)
    kept = [p for p in half.metadata_props if p.key != "precision"]
    del half.metadata_props[:]
    half.metadata_props.extend(kept)
    half.metadata_props.add(key="precision", value="fp16")
    half.metadata_props.add(key="converted_from_sha256", value=sha256_file(source))
    onnx.save_model(half, str(target), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=target.name + ".data", size_threshold=1024)


def rotation_error_deg(a, b):
    """Angle of a^T b per matrix, degrees; a, b are [..., 3, 3]."""
    import numpy as np

    trace = np.einsum("...ij,...ij->...", a.astype(np.float64), b.astype(np.float64))
    return np.degrees(np.arccos(np.clip((trace - 1) / 2, -1, 1)))


def check(fp32, fp16, crops, threads):
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    rng = np.random.default_rng(0)
    x = rng.standard_normal((crops, 3, 256, 256), dtype=np.float32)
    runs = []
    for path in (fp32, fp16):
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        runs.append(dict(zip(names, session.run(names, {"img": x}))))
        del session
    a, b = runs
    for name in a:
        d = float(np.abs(a[name] - b[name]).max())
        print(f"  {name:18s} max |fp32 - fp16| = {d:.3g}")
    rot = rotation_error_deg(np.concatenate([a["global_orient"], a["body_pose"]], 1),
                             np.concatenate([b["global_orient"], b["body_pose"]], 1))
    print(f"  rotation error over {rot.size} joints: median {np.median(rot):.3g} deg, max {rot.max():.3g} deg")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path, help="the fp32 HMR2 .onnx (its .data beside it)")
    ap.add_argument("output", type=Path, help="the fp16 .onnx to write; weights go to OUTPUT.data")
    ap.add_argument("--check", type=int, metavar="N", help="compare with the fp32 model on N random crops")
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime threads for --check")
    ap.add_argument("--any-version", action="store_true", help="run with other onnx/onnxruntime versions")
    args = ap.parse_args()

    import onnx
    import onnxruntime

    versions = {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}
    if versions != PINNED and not args.any_version:
        sys.exit(f"convert_hmr2_fp16: tools {versions}, pinned {PINNED}.\n"
                 "Fix: pip install -r scripts/requirements-convert.txt, or pass --any-version")
    data = args.output.with_name(args.output.name + ".data")
    for path in (args.output, data):
        if path.exists():
            sys.exit(f"convert_hmr2_fp16: {path} exists; refusing to replace it")
    convert(args.model, args.output)
    size = args.output.stat().st_size + (data.stat().st_size if data.exists() else 0)
    print(f"wrote {args.output} (+ {data.name}), {size / 1e9:.2f} GB, sha256 {sha256_file(args.output)}")
    if args.check:
        check(args.model, args.output, args.check, args.threads)


if __name__ == "__main__":
    main()
