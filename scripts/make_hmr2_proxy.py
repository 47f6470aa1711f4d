#!/usr/bin/env python3
"""Write a random-weight ONNX model with posekit's HMR2 contract (docs/hmr2-onnx.md).

Needs only `onnx` and `numpy`. The default model has HMR2.0's real cost: a ViT-H/16
backbone on the 256x192 middle of the 256x256 crop (16x12 = 192 tokens, width 1280,
depth 32, 16 heads, MLP 5120), then a transformer-decoder head that cross-attends to the
tokens and regresses 6D rotations, betas and the camera. That is ~630 M parameters,
about 2.5 GB of fp32 weights, stored as external data beside the .onnx file, so memory
and speed can be measured at real scale without the real checkpoint.

`--small` writes the same contract at toy size (a few MB): the test fixture.

The weights are random, so the outputs mean nothing, but their form is right: rotations
are proper rotation matrices (6D -> Gram-Schmidt, as HMR2 does), pred_cam's scale is
positive around 0.9, and every output depends on the input image.

    python scripts/make_hmr2_proxy.py /tmp/hmr2-proxy.onnx
    python scripts/make_hmr2_proxy.py --small tests/data/hmr2/hmr2_small.onnx
"""

import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
NUM_JOINTS = 23
NUM_KEYPOINTS = 44
NUM_VERTICES = 6890


class Graph:
    """A tiny graph builder: unique names, initializers from numpy, one node per call."""

    def __init__(self, seed):
        self.nodes, self.inits, self.count = [], [], 0
        self.rng = np.random.default_rng(seed)

    def name(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, hint, array):
        n = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(array), n))
        return n

    def weight(self, hint, shape, std=0.02):
        w = self.rng.standard_normal(shape, dtype=np.float32) * np.float32(std)
        return self.const(hint, w)

    def op(self, op_type, inputs, hint=None, outputs=1, **attrs):
        names = [self.name(hint or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, **attrs))
        return names[0] if outputs == 1 else names

    def ints(self, values):
        return self.const("i64", np.array(values, dtype=np.int64))

    def linear(self, x, d_in, d_out, std=0.02, bias=True):
        y = self.op("MatMul", [x, self.weight("w", (d_in, d_out), std)])
        if bias:
            y = self.op("Add", [y, self.const("b", np.zeros(d_out, np.float32))])
        return y

    def layer_norm(self, x, d):
        scale = self.const("ln_g", np.ones(d, np.float32))
        shift = self.const("ln_b", np.zeros(d, np.float32))
        return self.op("LayerNormalization", [x, scale, shift], axis=-1, epsilon=1e-6)

    def gelu(self, x):
        # Erf form (opset 17 has no Gelu op); ORT fuses it back into one Gelu kernel.
        half = self.const("half", np.float32(0.5))
        one = self.const("one", np.float32(1.0))
        inv_sqrt2 = self.const("isq2", np.float32(1 / np.sqrt(2)))
        e = self.op("Erf", [self.op("Mul", [x, inv_sqrt2])])
        return self.op("Mul", [self.op("Mul", [x, half]), self.op("Add", [e, one])])

    def heads(self, x, n_heads, d_head):
        """[B, T, H*D] -> [B, H, T, D]."""
        r = self.op("Reshape", [x, self.ints([0, -1, n_heads, d_head])])
        return self.op("Transpose", [r], perm=[0, 2, 1, 3])

    def attention(self, q, k, v, n_heads, d_head):
        """Multi-head scaled dot-product attention over [B, T, H*D] tensors."""
        q, k, v = (self.heads(t, n_heads, d_head) for t in (q, k, v))
        kt = self.op("Transpose", [k], perm=[0, 1, 3, 2])
        scale = self.const("scale", np.float32(1 / np.sqrt(d_head)))
        logits = self.op("Mul", [self.op("MatMul", [q, kt]), scale])
        ctx = self.op("MatMul", [self.op("Softmax", [logits], axis=-1), v])
        ctx = self.op("Transpose", [ctx], perm=[0, 2, 1, 3])
        return self.op("Reshape", [ctx, self.ints([0, -1, n_heads * d_head])])


def vit_block(g, x, width, n_heads, mlp):
    """A pre-norm ViT block, as in ViTPose/HMR2's backbone."""
    h = g.layer_norm(x, width)
    qkv = g.linear(h, width, 3 * width)
    q, k, v = g.op("Split", [qkv, g.ints([width] * 3)], axis=-1, outputs=3)
    a = g.attention(q, k, v, n_heads, width // n_heads)
    x = g.op("Add", [x, g.linear(a, width, width)])
    h = g.gelu(g.linear(g.layer_norm(x, width), width, mlp))
    return g.op("Add", [x, g.linear(h, mlp, width)])


def decoder_block(g, t, ctx, dim, ctx_dim, n_heads, d_head, mlp):
    """A transformer-decoder block: self-attention, cross-attention to the image tokens,
    MLP; the shape of HMR2's SMPL head (depth 6, 8 heads of 64, MLP 1024)."""
    inner = n_heads * d_head
    h = g.layer_norm(t, dim)
    q, k, v = (g.linear(h, dim, inner, bias=False) for _ in range(3))
    t = g.op("Add", [t, g.linear(g.attention(q, k, v, n_heads, d_head), inner, dim)])
    h = g.layer_norm(t, dim)
    q = g.linear(h, dim, inner, bias=False)
    k = g.linear(ctx, ctx_dim, inner, bias=False)
    v = g.linear(ctx, ctx_dim, inner, bias=False)
    t = g.op("Add", [t, g.linear(g.attention(q, k, v, n_heads, d_head), inner, dim)])
    h = g.gelu(g.linear(g.layer_norm(t, dim), dim, mlp))
    return g.op("Add", [t, g.linear(h, mlp, dim)])


def rot6d_to_rotmat(g, x6, n):
    """[B, n*6] -> [B, n, 3, 3] by Gram-Schmidt; columns b1, b2, b1 x b2 (HMR2's layout:
    the 6 numbers are two 3-vectors a1, a2, stacked as columns)."""
    x = g.op("Reshape", [x6, g.ints([-1, n, 2, 3])])
    a1, a2 = g.op("Split", [x, g.ints([1, 1])], axis=2, outputs=2)  # [B,n,1,3]
    eps = g.const("eps", np.float32(1e-8))

    def normalize(v):
        norm = g.op("ReduceL2", [v], axes=[-1], keepdims=1)  # axes is an attribute until opset 18
        return g.op("Div", [v, g.op("Max", [norm, eps])])

    def dot(a, b):
        return g.op("ReduceSum", [g.op("Mul", [a, b]), g.ints([-1])], keepdims=1)

    b1 = normalize(a1)
    b2 = normalize(g.op("Sub", [a2, g.op("Mul", [dot(b1, a2), b1])]))
    c1 = g.op("Split", [b1, g.ints([1, 1, 1])], axis=-1, outputs=3)
    c2 = g.op("Split", [b2, g.ints([1, 1, 1])], axis=-1, outputs=3)

    def cross(i, j):
        return g.op("Sub", [g.op("Mul", [c1[i], c2[j]]), g.op("Mul", [c1[j], c2[i]])])

    b3 = g.op("Concat", [cross(1, 2), cross(2, 0), cross(0, 1)], axis=-1)
    rows = g.op("Concat", [b1, b2, b3], axis=2)  # [B,n,3(vector),3(component)]
    return g.op("Transpose", [rows], perm=[0, 1, 3, 2])  # vectors become columns


def build(size):
    if size == "small":
        width, depth, n_heads, mlp = 64, 2, 4, 128
        dim, dec_depth, dec_heads, dec_head, dec_mlp = 64, 1, 2, 16, 64
        vert_basis = 8
    else:
        width, depth, n_heads, mlp = 1280, 32, 16, 5120
        dim, dec_depth, dec_heads, dec_head, dec_mlp = 1024, 6, 8, 64, 1024
        vert_basis = 32
    g = Graph(seed=5)
    img = "img"
    # The backbone sees only the middle 192 columns, as HMR2 does with x[:, :, :, 32:-32].
    x = g.op("Slice", [img, g.ints([32]), g.ints([224]), g.ints([3])])
    patches = g.op(
        "Conv", [x, g.weight("patch_w", (width, 3, 16, 16)), g.const("patch_b", np.zeros(width, np.float32))],
        strides=[16, 16],
    )  # [B, width, 16, 12]
    tokens = g.op("Transpose", [g.op("Reshape", [patches, g.ints([0, width, -1])])], perm=[0, 2, 1])
    tokens = g.op("Add", [tokens, g.weight("pos", (1, 16 * 12, width))])
    for _ in range(depth):
        tokens = vit_block(g, tokens, width, n_heads, mlp)
    ctx = g.layer_norm(tokens, width)

    # One query token made from the mean image token, refined by the decoder.
    t = g.linear(g.op("ReduceMean", [ctx], axes=[1], keepdims=1), width, dim)
    for _ in range(dec_depth):
        t = decoder_block(g, t, ctx, dim, width, dec_heads, dec_head, dec_mlp)
    t = g.op("Reshape", [g.layer_norm(t, dim), g.ints([-1, dim])])

    # Identity rotations plus a learned offset, as HMR2 adds its mean pose.
    ident6 = np.tile(np.array([1, 0, 0, 0, 1, 0], np.float32), NUM_JOINTS + 1)
    pose6 = g.op("Add", [g.linear(t, dim, 6 * (NUM_JOINTS + 1), std=0.05), g.const("mean6", ident6)])
    rotmats = rot6d_to_rotmat(g, pose6, NUM_JOINTS + 1)
    global_orient, body_pose = g.op("Split", [rotmats, g.ints([1, NUM_JOINTS])], axis=1, outputs=2)
    betas = g.linear(t, dim, 10, std=0.05)
    cam = g.op("Add", [g.linear(t, dim, 3, std=0.01), g.const("cam0", np.array([0.9, 0, 0], np.float32))])
    kp = g.op("Reshape", [g.linear(t, dim, NUM_KEYPOINTS * 3, std=0.05), g.ints([-1, NUM_KEYPOINTS, 3])])
    # Vertices from a low-rank basis: the right shape without a 6890x3xdim matrix.
    coeff = g.linear(t, dim, vert_basis)
    verts = g.op("MatMul", [coeff, g.weight("vbasis", (vert_basis, NUM_VERTICES * 3), std=0.1)])
    verts = g.op("Reshape", [verts, g.ints([-1, NUM_VERTICES, 3])])

    names = {
        global_orient: "global_orient",
        body_pose: "body_pose",
        betas: "betas",
        cam: "pred_cam",
        kp: "pred_keypoints_3d",
        verts: "pred_vertices",
    }
    # Rename each final tensor to its contract name.
    for node in g.nodes:
        node.output[:] = [names.get(o, o) for o in node.output]
        node.input[:] = [names.get(i, i) for i in node.input]

    f = TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info("img", f, ["batch", 3, 256, 256])]
    outputs = [
        helper.make_tensor_value_info("pred_cam", f, ["batch", 3]),
        helper.make_tensor_value_info("global_orient", f, ["batch", 1, 3, 3]),
        helper.make_tensor_value_info("body_pose", f, ["batch", NUM_JOINTS, 3, 3]),
        helper.make_tensor_value_info("betas", f, ["batch", 10]),
        helper.make_tensor_value_info("pred_keypoints_3d", f, ["batch", NUM_KEYPOINTS, 3]),
        helper.make_tensor_value_info("pred_vertices", f, ["batch", NUM_VERTICES, 3]),
    ]
    graph = helper.make_graph(g.nodes, f"hmr2_proxy_{size}", inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    model.producer_name = "posekit make_hmr2_proxy.py"
    params = sum(int(np.prod(i.dims)) for i in g.inits)
    return model, params


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("output", help="the .onnx file to write (weights go beside it as OUTPUT.data)")
    ap.add_argument("--small", action="store_true", help="toy size, a few MB: the test fixture")
    args = ap.parse_args()
    model, params = build("small" if args.small else "full")
    out_dir = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(out_dir, exist_ok=True)
    if args.small:
        onnx.save_model(model, args.output)
    else:
        data = os.path.basename(args.output) + ".data"
        if os.path.exists(os.path.join(out_dir, data)):
            os.remove(os.path.join(out_dir, data))  # onnx appends to an existing file
        onnx.save_model(
            model, args.output, save_as_external_data=True, all_tensors_to_one_file=True,
            location=data, size_threshold=1024,
        )
    onnx.checker.check_model(args.output)
    print(f"{args.output}: {params / 1e6:.1f} M parameters, {params * 4 / 1e9:.2f} GB of fp32 weights")


if __name__ == "__main__":
    main()
