#!/usr/bin/env python3
"""Convert MediaPipe's BlazePose TFLite models to ONNX for posekit.

The two models ship inside the Python wheel ``mediapipe==0.10.14`` (Apache-2.0):

    mediapipe/modules/pose_detection/pose_detection.tflite      -> models/pose_detection.onnx
    mediapipe/modules/pose_landmark/pose_landmark_full.tflite   -> models/pose_landmark_full.onnx

and the lite and heavy landmark models (MediaPipe's model_complexity 0 and 2) from the npm
package ``@mediapipe/pose@0.5.1675469404`` (Apache-2.0), whose pose_landmark_full.tflite is
the wheel's byte for byte:

    package/pose_landmark_lite.tflite    -> models/pose_landmark_lite.onnx
    package/pose_landmark_heavy.tflite   -> models/pose_landmark_heavy.onnx

The script also writes ``models/manifest.json`` (provenance, hashes, I/O names and shapes,
measured TFLite-vs-ONNX differences) and ``models/LICENSE-mediapipe.txt`` (the licence file
from the wheel's dist-info).

Tool environment (Python 3.11, CPU only; these exact versions install together and are the
ones the committed models were made with):

    python3.11 -m venv /tmp/convert-venv
    /tmp/convert-venv/bin/pip install -r scripts/requirements-convert.txt
    # i.e. tensorflow-cpu==2.15.1 tf2onnx==1.17.0 "numpy<2" onnx==1.17.0
    #      onnxruntime==1.31.1 mediapipe==0.10.14   (onnx 1.18+ needs a newer ml-dtypes than
    #      tensorflow 2.15 allows, hence onnx 1.17)

Run (from the repository root):

    /tmp/convert-venv/bin/python scripts/convert_blazepose.py \
        [--wheel /path/to/mediapipe-0.10.14-cp311-...whl] \
        [--video some_clip.mp4]      # real frames for the check (needs the ffmpeg CLI)
        [--out models]

Without ``--wheel`` the wheel is fetched with ``pip download mediapipe==0.10.14 --no-deps``
into a temporary folder.

How the conversion works:

* The landmark model converts unchanged with ``tf2onnx`` (``--tflite``, opset 17).  Then the
  outputs posekit never reads are removed, with the nodes and weights that only fed them
  (``prune_outputs``): the 256x256 segmentation mask (Identity_2), whose decoder (13 convolutions
  and 2 resizes, at up to full resolution) took about 40% of every landmark call on the CPU.  posekit reads landmarks, pose flag, heatmap and world
  landmarks (src/models/blazepose/mod.rs, ``LANDMARK_OUTPUTS``).  What remains is the same
  nodes with the same weights: the script checks that the pruned model's outputs equal the
  unpruned model's exactly on every check input.
* The detector stores 38 of its 1x1 convolution kernels as sparse float16 tensors that a
  DENSIFY op expands at run time; tf2onnx cannot convert DENSIFY.  The script runs the
  original model once through the TFLite interpreter (built-in kernels, no delegate,
  ``experimental_preserve_all_tensors=True``), reads each DENSIFY output (the dense float16
  kernel) and rewrites the flatbuffer so that tensor becomes a constant holding those
  values; the DENSIFY ops and the now unused sparse tensors and buffers are removed.  The
  rewritten model is checked against the original in TFLite before it is converted.
* Tensor layout is kept as in TFLite: NHWC float32 inputs.  No input/output is renamed.
* Both ONNX models are run with ONNX Runtime against TFLite on seeded random inputs and,
  with ``--video``, on real frames; the script exits non-zero if any output differs by more
  than ``--tol`` (default 1e-2).  Outputs pruned from the ONNX model are not compared.
* Re-running produces byte-identical .onnx files (checked: same sha256 across runs and
  across fresh venvs): PYTHONHASHSEED is pinned and tf2onnx's counter-based generated
  names are rewritten canonically (see canonicalize_names).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

# tf2onnx's optimisers iterate over sets of names, so the node order and generated names
# depend on Python's string hashing: pin it (re-exec once) to get byte-identical output.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

MP_VERSION = "0.10.14"
# The lite and heavy landmark models: the npm package @mediapipe/pose (Apache-2.0) ships all
# three; its pose_landmark_full.tflite is byte for byte the wheel's.
NPM_PACKAGE = "@mediapipe/pose"
NPM_VERSION = "0.5.1675469404"
OPSET = 17

MODELS = [
    {
        "name": "pose_detection",
        "path_in_wheel": "mediapipe/modules/pose_detection/pose_detection.tflite",
        "input_range": (-1.0, 1.0),  # RGB scaled to [-1, 1]
        "size": 224,
        "description": "BlazePose person detector (SSD, 2254 anchors). Input RGB in [-1,1], "
                       "letterboxed, NHWC.",
    },
    {
        "name": "pose_landmark_full",
        "path_in_wheel": "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        "input_range": (0.0, 1.0),  # RGB scaled to [0, 1]
        "size": 256,
        "description": "BlazePose GHUM 3D landmark model (full), without the segmentation "
                       "output. Input RGB in [0,1], NHWC.",
        # The segmentation mask: posekit never reads it, and its decoder is about 40% of the
        # model's time on the CPU.
        "prune_outputs": ["Identity_2"],
    },
    {
        "name": "pose_landmark_lite",
        "npm_path": "package/pose_landmark_lite.tflite",
        "input_range": (0.0, 1.0),
        "size": 256,
        "description": "BlazePose GHUM 3D landmark model (lite, MediaPipe's model_complexity=0), "
                       "without the segmentation output. Input RGB in [0,1], NHWC.",
        "prune_outputs": ["Identity_2"],
        # Its weights are float16 in the TFLite file: kept so behind a Cast (half the bytes).
        "half_exact": True,
    },
    {
        "name": "pose_landmark_heavy",
        "npm_path": "package/pose_landmark_heavy.tflite",
        "input_range": (0.0, 1.0),
        "size": 256,
        "description": "BlazePose GHUM 3D landmark model (heavy, MediaPipe's model_complexity=2), "
                       "without the segmentation output. Input RGB in [0,1], NHWC.",
        "prune_outputs": ["Identity_2"],
        "half_exact": True,
    },
]

TFLITE_DTYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 9: "int8"}


from onnx_tools import converter_record, halve_exact_float16, sha256_file  # noqa: E402 (after the env setup)


def log(*a):
    print(*a, flush=True)


# --------------------------------------------------------------------------- wheel


def obtain_wheel(wheel: str | None, tmp: str) -> str:
    if wheel:
        if not os.path.isfile(wheel):
            sys.exit(f"wheel not found: {wheel}")
        return wheel
    dl = os.path.join(tmp, "wheel")
    os.makedirs(dl)
    cmd = [sys.executable, "-m", "pip", "download", f"mediapipe=={MP_VERSION}", "--no-deps",
           "--only-binary=:all:", "--python-version", "3.11",
           "--platform", "manylinux_2_17_x86_64", "-d", dl]
    log("$", " ".join(cmd))
    subprocess.run(cmd, check=True)
    whls = [f for f in os.listdir(dl) if f.endswith(".whl")]
    if len(whls) != 1:
        sys.exit(f"expected one wheel in {dl}, found {whls}")
    return os.path.join(dl, whls[0])


def extract(wheel: str, member: str, dest_dir: str) -> str:
    with zipfile.ZipFile(wheel) as z:
        data = z.read(member)
    path = os.path.join(dest_dir, os.path.basename(member))
    with open(path, "wb") as f:
        f.write(data)
    return path


def obtain_npm(tgz: str | None, tmp: str) -> str:
    """The @mediapipe/pose tarball: given, or `npm pack`ed into `tmp`."""
    if tgz:
        return tgz
    out = subprocess.run(["npm", "pack", f"{NPM_PACKAGE}@{NPM_VERSION}", "--silent"], cwd=tmp,
                         check=True, capture_output=True, text=True).stdout.split()
    return os.path.join(tmp, out[-1])


def extract_npm(tgz: str, member: str, dest_dir: str) -> str:
    import tarfile
    with tarfile.open(tgz) as archive:
        data = archive.extractfile(member).read()
    path = os.path.join(dest_dir, os.path.basename(member))
    with open(path, "wb") as f:
        f.write(data)
    return path


def licence_text(wheel: str) -> str | None:
    with zipfile.ZipFile(wheel) as z:
        for n in z.namelist():
            parts = n.split("/")
            if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] in ("LICENSE", "LICENSE.txt"):
                return z.read(n).decode("utf-8")
    return None


# --------------------------------------------------------------------------- densify


def _builtin_name(model, op) -> str:
    from tensorflow.lite.python import schema_py_generated as schema
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    oc = model.operatorCodes[op.opcodeIndex]
    return names.get(max(oc.builtinCode, oc.deprecatedBuiltinCode), "?")


def _compact(model) -> None:
    """Drop tensors that no operator or graph input/output uses, then unused buffers."""
    import numpy as np
    g = model.subgraphs[0]
    used = set(int(i) for i in g.inputs) | set(int(i) for i in g.outputs)
    for op in g.operators:
        used |= set(int(i) for i in op.inputs if i >= 0)
        used |= set(int(i) for i in op.outputs if i >= 0)
    keep = [i for i in range(len(g.tensors)) if i in used]
    remap = {old: new for new, old in enumerate(keep)}

    def rm(seq):
        return np.array([remap[int(i)] if i >= 0 else -1 for i in seq], dtype=np.int32)

    g.tensors = [g.tensors[i] for i in keep]
    g.inputs, g.outputs = rm(g.inputs), rm(g.outputs)
    for op in g.operators:
        op.inputs, op.outputs = rm(op.inputs), rm(op.outputs)
        if op.intermediates is not None and len(op.intermediates):
            op.intermediates = rm(op.intermediates)

    # buffers: 0 is the mandatory empty sentinel; keep those referenced by any tensor
    # of any subgraph and by metadata entries.
    bused = {0}
    for sg in model.subgraphs:
        bused |= {t.buffer for t in sg.tensors}
    for md in model.metadata or []:
        bused.add(md.buffer)
    if model.metadataBuffer is not None:
        bused |= set(int(b) for b in model.metadataBuffer)
    bkeep = [i for i in range(len(model.buffers)) if i in bused]
    bmap = {old: new for new, old in enumerate(bkeep)}
    model.buffers = [model.buffers[i] for i in bkeep]
    for sg in model.subgraphs:
        for t in sg.tensors:
            t.buffer = bmap[t.buffer]
    for md in model.metadata or []:
        md.buffer = bmap[md.buffer]
    if model.metadataBuffer is not None:
        model.metadataBuffer = np.array([bmap[int(b)] for b in model.metadataBuffer], dtype=np.int32)


def densify_tflite(src: str, dst: str) -> int:
    """Replace every DENSIFY op by a dense constant. Returns how many were replaced."""
    import numpy as np
    import tensorflow as tf
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(src)
    if len(model.subgraphs) != 1:
        raise RuntimeError("expected a single subgraph")
    g = model.subgraphs[0]
    dens = [op for op in g.operators if _builtin_name(model, op) == "DENSIFY"]
    if not dens:
        shutil.copyfile(src, dst)
        return 0

    # Built-in kernels only: the XNNPACK delegate would fold DENSIFY internally and leave
    # the TFLite tensor unfilled.
    interp = tf.lite.Interpreter(
        model_path=src, experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    interp.set_tensor(inp["index"], np.zeros(inp["shape"], dtype=inp["dtype"]))
    interp.invoke()

    for op in dens:
        sparse_t = g.tensors[op.inputs[0]]
        out_idx = int(op.outputs[0])
        out_t = g.tensors[out_idx]
        dense = np.ascontiguousarray(interp.get_tensor(out_idx))
        want = TFLITE_DTYPES[out_t.type]
        if list(dense.shape) != list(out_t.shape) or dense.dtype != np.dtype(want):
            raise RuntimeError(f"densified {out_t.name!r}: got {dense.shape} {dense.dtype}, "
                               f"expected {list(out_t.shape)} {want}")
        # Sanity: the sparse value array holds at least every non-zero of the dense kernel.
        nvals = len(model.buffers[sparse_t.buffer].data) // dense.dtype.itemsize
        nnz = int(np.count_nonzero(dense))
        if nnz > nvals or nnz == 0:
            raise RuntimeError(f"densified {out_t.name!r}: {nnz} non-zeros vs {nvals} stored values")
        buf = schema.BufferT()
        buf.data = np.frombuffer(dense.tobytes(), dtype=np.uint8)
        model.buffers.append(buf)
        out_t.buffer = len(model.buffers) - 1
        out_t.sparsity = None

    dens_ids = {id(op) for op in dens}
    g.operators = [op for op in g.operators if id(op) not in dens_ids]
    _compact(model)
    flatbuffer_utils.write_model(model, dst)
    return len(dens)


# --------------------------------------------------------------------------- checks


def tflite_runner(path: str):
    import tensorflow as tf
    interp = tf.lite.Interpreter(model_path=path)  # default: XNNPACK, as MediaPipe uses on CPU
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    outs = interp.get_output_details()

    def run(x):
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        return {o["name"]: interp.get_tensor(o["index"]).copy() for o in outs}

    return run, inp, outs


def video_frames(video: str, count: int, size: int):
    """`count` frames spread over the clip, RGB, squashed to size x size (uint8)."""
    import numpy as np
    try:
        dur = float(subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", video],
            capture_output=True, text=True, check=True).stdout.strip())
    except Exception:
        dur = 5.0
    frames = []
    for k in range(count):
        t = dur * (k + 0.5) / count
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-ss", f"{t:.3f}", "-i", video, "-frames:v", "1",
             "-vf", f"scale={size}:{size}:flags=bilinear", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
            capture_output=True, check=True).stdout
        if len(raw) == size * size * 3:
            frames.append(np.frombuffer(raw, np.uint8).reshape(size, size, 3))
    return frames


def make_inputs(spec, video: str | None, n_random: int):
    import numpy as np
    rng = np.random.default_rng(12345)
    lo, hi = spec["input_range"]
    s = spec["size"]
    xs = []
    for _ in range(n_random):
        xs.append(("random", rng.uniform(lo, hi, size=(1, s, s, 3)).astype(np.float32)))
    # a smooth synthetic image (random noise is far from what the models see)
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / (s - 1)
    smooth = np.stack([xx, yy, 0.5 + 0.5 * np.sin(6 * xx * yy)], -1)[None]
    xs.append(("smooth", (lo + (hi - lo) * smooth).astype(np.float32)))
    if video:
        for f in video_frames(video, 4, s):
            xs.append(("video", (lo + (hi - lo) * f.astype(np.float32) / 255.0)[None].astype(np.float32)))
    return xs


def compare(tfl_path: str, onnx_path: str, spec, video: str | None, n_random: int):
    import numpy as np
    import onnxruntime as ort
    run_tfl, _, _ = tflite_runner(tfl_path)
    so = ort.SessionOptions()
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    in_name = sess.get_inputs()[0].name
    out_names = [o.name for o in sess.get_outputs()]
    worst: dict[str, float] = {}
    raw: dict[str, float] = {}
    kinds: dict[str, int] = {}
    sig = set(spec.get("sigmoid_outputs", []))
    pruned = set(spec.get("prune_outputs", []))
    for kind, x in make_inputs(spec, video, n_random):
        kinds[kind] = kinds.get(kind, 0) + 1
        ref = {k: v for k, v in run_tfl(x).items() if k not in pruned}
        got = dict(zip(out_names, sess.run(out_names, {in_name: x})))
        for name, r in ref.items():
            if name not in got:
                raise RuntimeError(f"ONNX model lacks output {name!r} (has {out_names})")
            g = got[name]
            if g.shape != r.shape:
                raise RuntimeError(f"{name}: shape {g.shape} vs TFLite {r.shape}")
            g64, r64 = g.astype(np.float64), r.astype(np.float64)
            d = float(np.max(np.abs(g64 - r64)))
            raw[name] = max(raw.get(name, 0.0), d)
            if name in sig:
                d = float(np.max(np.abs(np.tanh(g64 / 2) - np.tanh(r64 / 2)))) / 2  # sigmoid diff
            worst[name] = max(worst.get(name, 0.0), d)
    return worst, raw, kinds


def compare_tflite(a: str, b: str, spec, n_random: int) -> float:
    import numpy as np
    ra, _, _ = tflite_runner(a)
    rb, _, _ = tflite_runner(b)
    worst = 0.0
    for _, x in make_inputs(spec, None, n_random):
        oa, ob = ra(x), rb(x)
        for k in oa:
            worst = max(worst, float(np.max(np.abs(oa[k].astype(np.float64) - ob[k]))))
    return worst


# --------------------------------------------------------------------------- convert


def convert(tfl_path: str, onnx_path: str, pruned_path: str | None = None,
            drop: list[str] | None = None) -> int:
    """tf2onnx, then canonical names; with `drop`, also writes `pruned_path` without those
    outputs. Returns how many nodes pruning removed."""
    import onnx
    import tf2onnx
    tf2onnx.utils.INTERNAL_NAME = 1  # generated names independent of what ran before
    model_proto, _ = tf2onnx.convert.from_tflite(tfl_path, opset=OPSET)
    bad = sorted({n.op_type for n in model_proto.graph.node if n.domain not in ("", "ai.onnx")}
                 | {n.op_type for n in model_proto.graph.node if n.op_type.startswith("TFL_")})
    if bad:
        raise RuntimeError(f"tf2onnx left unconverted ops: {bad}")
    canonicalize_names(model_proto)
    onnx.checker.check_model(model_proto)
    onnx.save_model(model_proto, onnx_path)
    if not drop:
        return 0
    removed = prune_outputs(model_proto, drop)
    onnx.checker.check_model(model_proto)
    onnx.save_model(model_proto, pruned_path)
    return removed


def prune_outputs(model, drop: list[str]) -> int:
    """Remove graph outputs `drop`, then every node, initializer and value_info that no
    remaining output needs. Returns how many nodes went.

    Runs after canonicalize_names, so the names and order of what is kept are those of the
    unpruned file: pruning the full conversion, or a committed unpruned file, gives the same
    bytes. Deterministic: one backward walk from the outputs, keeping graph order.
    """
    g = model.graph
    names = {o.name for o in g.output}
    missing = sorted(set(drop) - names)
    if missing:
        raise RuntimeError(f"prune_outputs: no output named {missing} (outputs: {sorted(names)})")
    kept_outputs = [o for o in g.output if o.name not in drop]
    needed = {o.name for o in kept_outputs}
    keep_nodes = []
    for n in reversed(g.node):  # ONNX nodes are topologically sorted
        if any(o in needed for o in n.output):
            keep_nodes.append(n)
            needed.update(i for i in n.input if i)
    keep_nodes.reverse()
    removed = len(g.node) - len(keep_nodes)
    nodes = [type(n)() for n in keep_nodes]
    for dst, src in zip(nodes, keep_nodes):
        dst.CopyFrom(src)
    inits = [i for i in g.initializer if i.name in needed]
    infos = [v for v in g.value_info if v.name in needed]
    outs = list(kept_outputs)
    for field, items in ((g.node, nodes), (g.initializer, inits), (g.value_info, infos),
                         (g.output, outs)):
        kept = [type(x)() for x in items]
        for dst, src in zip(kept, items):
            dst.CopyFrom(src)
        del field[:]
        field.extend(kept)
    return removed


def check_pruned(full_path: str, pruned_path: str, spec, video: str | None, n_random: int) -> float:
    """Largest difference between the pruned and the unpruned model on the check inputs (the
    same nodes and weights, so it must be 0)."""
    import numpy as np
    import onnxruntime as ort
    full = ort.InferenceSession(full_path, providers=["CPUExecutionProvider"])
    pruned = ort.InferenceSession(pruned_path, providers=["CPUExecutionProvider"])
    in_name = pruned.get_inputs()[0].name
    names = [o.name for o in pruned.get_outputs()]
    worst = 0.0
    for _, x in make_inputs(spec, video, n_random):
        for a, b in zip(full.run(names, {in_name: x}), pruned.run(names, {in_name: x})):
            worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b))))
    return worst


def canonicalize_names(model) -> None:
    """Make the output independent of tf2onnx's run-to-run naming.

    tf2onnx names what it generates with a global counter ("Relu6__139_min__505") whose values,
    and the order of the initializers, vary between runs although the graph is the same.
    Initializers are renamed "const__K" in order of first use and sorted that way; generated
    tensor and node names get their counter replaced by a sequence number. Graph inputs and
    outputs and the names carried over from the TFLite file are kept.
    """
    import re
    g = model.graph
    if any(a.type in (5, 10) for n in g.node for a in n.attribute):  # GRAPH / GRAPHS
        raise RuntimeError("canonicalize_names does not handle subgraphs")
    gen = re.compile(r"__\d+")
    io = {v.name for v in g.input} | {v.name for v in g.output}
    inits = {i.name: i for i in g.initializer}
    ren: dict[str, str] = {}
    for n in g.node:
        for i in n.input:
            if i in inits and i not in io and i not in ren:
                ren[i] = f"const__{len(ren)}"
    for name in inits:
        if name not in ren and name not in io:
            ren[name] = f"const__{len(ren)}"
    t = 0
    for n in g.node:
        for o in n.output:
            if o and o not in io and o not in ren and gen.search(o):
                ren[o] = f"{gen.sub('', o)}__t{t}"
                t += 1
    for k, n in enumerate(g.node):
        for j, i in enumerate(n.input):
            n.input[j] = ren.get(i, i)
        for j, o in enumerate(n.output):
            n.output[j] = ren.get(o, o)
        if gen.search(n.name):
            n.name = f"{gen.sub('', n.name)}__n{k}"
    for v in g.value_info:
        v.name = ren.get(v.name, v.name)
    order = sorted(g.initializer, key=lambda i: int(ren[i.name].split("__")[1]) if i.name in ren else -1)
    for i in order:
        i.name = ren.get(i.name, i.name)
    new = [type(order[0])() for _ in order] if order else []
    for dst, src in zip(new, order):
        dst.CopyFrom(src)
    del g.initializer[:]
    g.initializer.extend(new)


def io_info(onnx_path: str):
    import onnxruntime as ort
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])

    def one(v):
        dt = v.type.replace("tensor(", "").rstrip(")")
        return {"name": v.name, "shape": list(v.shape), "dtype": {"float": "float32"}.get(dt, dt)}

    return [one(v) for v in sess.get_inputs()], [one(v) for v in sess.get_outputs()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheel", help=f"mediapipe-{MP_VERSION} wheel (default: pip download it)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
    ap.add_argument("--video", help="video whose frames are also used for the TFLite/ONNX check")
    ap.add_argument("--random", type=int, default=4, help="random inputs per model for the check")
    ap.add_argument("--tol", type=float, default=1e-2, help="max abs difference allowed per output")
    ap.add_argument("--npm-tgz", help=f"{NPM_PACKAGE}-{NPM_VERSION} tarball for the lite and heavy "
                    "models (default: npm pack it)")
    ap.add_argument("--only", help="comma-separated model names to convert (default: all); the "
                    "manifest keeps the others' entries")
    args = ap.parse_args()
    wanted = [m for m in MODELS if not args.only or m["name"] in args.only.split(",")]

    import onnxruntime as ort

    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    ok = True
    manifest = {
        "about": "BlazePose models converted from MediaPipe's TFLite files by scripts/convert_blazepose.py",
        "models": [],
    }
    with tempfile.TemporaryDirectory(prefix="blazepose-") as tmp:
        wheel = obtain_wheel(args.wheel, tmp)
        log("wheel:", wheel)
        lic = licence_text(wheel)
        lic_path = os.path.join(out_dir, "LICENSE-mediapipe.txt")
        with open(lic_path, "w", encoding="utf-8") as f:
            f.write("The files pose_detection.onnx and pose_landmark_full.onnx in this folder are\n"
                    "converted from pose_detection.tflite and pose_landmark_full.tflite, which ship in\n"
                    f"the MediaPipe Python package, version {MP_VERSION}, and pose_landmark_lite.onnx and\n"
                    "pose_landmark_heavy.onnx from the tflite files of the npm package\n"
                    f"{NPM_PACKAGE}@{NPM_VERSION} (Copyright Google LLC / The\n"
                    "MediaPipe Authors), under the Apache License, Version 2.0\n"
                    "(https://www.apache.org/licenses/LICENSE-2.0).\n"
                    "Modifications: converted to ONNX with tf2onnx; in the detector, sparse (DENSIFY)\n"
                    "weights were stored densely; in the landmark model, the segmentation output and\n"
                    "the layers that only computed it were removed. Weights and architecture are\n"
                    "otherwise unchanged.\n"
                    "\nThe licence file distributed with that package follows.\n\n")
            f.write(lic if lic else "(the package's licence file was not found)\n")

        npm = None
        for spec in wanted:
            log(f"\n== {spec['name']}")
            if "npm_path" in spec:
                npm = npm or obtain_npm(args.npm_tgz, tmp)
                src = extract_npm(npm, spec["npm_path"], tmp)
            else:
                src = extract(wheel, spec["path_in_wheel"], tmp)
            work = os.path.join(tmp, "work")
            os.makedirs(work, exist_ok=True)
            # same basename, so tf2onnx's graph name/doc string stay stable
            dense = os.path.join(work, os.path.basename(src))
            n = densify_tflite(src, dense)
            steps = []
            if n:
                d = compare_tflite(src, dense, spec, args.random)
                log(f"densified {n} DENSIFY ops; TFLite original vs densified max abs diff: {d:.3g}")
                steps.append(f"{n} DENSIFY ops replaced by dense float16 constants read through "
                             f"the TFLite interpreter (TFLite max abs diff after: {d:.3g})")
                if d > args.tol:
                    log("FAIL: densified TFLite model differs from the original")
                    ok = False
            onnx_path = os.path.join(out_dir, spec["name"] + ".onnx")
            drop = spec.get("prune_outputs", [])
            if drop:
                full_path = os.path.join(work, spec["name"] + ".unpruned.onnx")
                removed = convert(dense, full_path, onnx_path, drop)
                d = check_pruned(full_path, onnx_path, spec, args.video, args.random)
                log(f"pruned outputs {drop}: {removed} nodes removed; pruned vs unpruned "
                    f"max abs diff {d:.3g}")
                steps.append(f"output{'s' if len(drop) > 1 else ''} {', '.join(drop)} removed, "
                             f"with the {removed} nodes that only computed "
                             f"{'them' if len(drop) > 1 else 'it'} (pruned vs unpruned max abs "
                             f"diff: {d:.3g})")
                if d != 0.0:
                    log("FAIL: pruning changed the outputs that remain")
                    ok = False
            else:
                convert(dense, onnx_path)
            if spec.get("half_exact"):
                n = halve_exact_float16(onnx_path)
                steps.append(f"{n} float32 initializers that are exactly float16 stored as float16 "
                             "behind a Cast")
            worst, raw, kinds = compare(src, onnx_path, spec, args.video, args.random)
            for name, d in worst.items():
                flag = "ok" if d <= args.tol else "FAIL"
                extra = (f" (after sigmoid; raw logits {raw[name]:.3g})"
                         if name in spec.get("sigmoid_outputs", []) else "")
                log(f"  TFLite vs ONNX Runtime  {name:12s} max abs diff {d:.3g}{extra}  {flag}")
                ok &= d <= args.tol
            ins, outs = io_info(onnx_path)
            for v in ins:
                log(f"  input  {v['name']} {v['shape']} {v['dtype']}")
            for v in outs:
                log(f"  output {v['name']} {v['shape']} {v['dtype']}")
            sha = sha256_file(onnx_path)
            log(f"  {onnx_path}: {os.path.getsize(onnx_path)} bytes, sha256 {sha}")
            manifest["models"].append({
                "name": spec["name"],
                "file": os.path.basename(onnx_path),
                "description": spec["description"],
                "layout": "NHWC",
                "source": ({
                    "package": f"npm:{NPM_PACKAGE}",
                    "version": NPM_VERSION,
                    "path_in_package": spec["npm_path"],
                    "sha256": sha256_file(src),
                } if "npm_path" in spec else {
                    "package": "mediapipe",
                    "version": MP_VERSION,
                    "path_in_wheel": spec["path_in_wheel"],
                    "sha256": sha256_file(src),
                }),
                "sha256": sha,
                "bytes": os.path.getsize(onnx_path),
                "licence": "Apache-2.0",
                "licence_file": os.path.basename(lic_path),
                "converter": converter_record(OPSET, steps, pruned_outputs=drop),
                "inputs": ins,
                "outputs": outs,
                "verification": {
                    "onnxruntime": ort.__version__,
                    "inputs": kinds,
                    "max_abs_diff_vs_tflite": {k: float(f"{v:.3g}") for k, v in worst.items()},
                    "compared_after_sigmoid": spec.get("sigmoid_outputs", []),
                    "max_abs_diff_raw": {k: float(f"{v:.3g}") for k, v in raw.items()},
                },
            })

    # Entries other scripts wrote (scripts/convert_person_detector.py) are kept.
    manifest_path = os.path.join(out_dir, "manifest.json")
    if os.path.exists(manifest_path):
        with open(manifest_path, encoding="utf-8") as f:
            previous = json.load(f)
        ours = {m["name"] for m in manifest["models"]}
        manifest["models"] += [m for m in previous.get("models", []) if m["name"] not in ours]
        manifest["about"] = previous.get("about", manifest["about"])
    with open(manifest_path, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    log("\nwrote", os.path.join(out_dir, "manifest.json"))
    if not ok:
        log("FAIL: differences above tolerance", args.tol)
        return 1
    log("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
