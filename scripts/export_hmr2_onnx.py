#!/usr/bin/env python3
"""Export a 4D-Humans HMR2.0 checkpoint to posekit's HMR2 ONNX contract (docs/hmr2-onnx.md).

Runs where 4D-Humans runs: it needs torch, onnx, and the `hmr2` package from the
4D-Humans source (shubham-goel/4D-Humans) importable, plus the checkpoint and the
`model_config.yaml` two folders above it, as 4D-Humans lays them out. posekit itself
needs none of this.

    python scripts/export_hmr2_onnx.py CHECKPOINT.ckpt hmr2.onnx
    python scripts/export_hmr2_onnx.py CHECKPOINT.ckpt hmr2.onnx --smpl SMPL_NEUTRAL.pkl
    python scripts/export_hmr2_onnx.py CHECKPOINT.ckpt hmr2.onnx --check

- Without `--smpl` the model has the four required outputs (pred_cam, global_orient,
  body_pose, betas): only the backbone and head are built, so no SMPL file is needed.
- With `--smpl` (your own SMPL model file; its licence does not allow redistribution)
  4D-Humans' SMPL layer is exported too, adding pred_keypoints_3d [B,44,3] and
  pred_vertices [B,6890,3].
- The weights (~2.7 GB) go to `OUTPUT.data` beside the .onnx (ONNX's external data;
  a protobuf cannot hold more than 2 GB). Keep both files together.
- `--check` runs the exported file with onnxruntime on random crops and prints the
  largest difference from PyTorch per output.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

OUTPUTS = ["pred_cam", "global_orient", "body_pose", "betas"]
SMPL_OUTPUTS = ["pred_keypoints_3d", "pred_vertices"]


def load_parts(checkpoint, smpl_path):
    """Backbone, head (and SMPL layer) with the checkpoint's weights, in eval mode."""
    import torch
    from hmr2.configs import get_config
    from hmr2.models.backbones import create_backbone
    from hmr2.models.heads import build_smpl_head

    cfg_path = Path(checkpoint).parent.parent / "model_config.yaml"
    if not cfg_path.is_file():
        sys.exit(f"{cfg_path} not found: 4D-Humans keeps model_config.yaml two folders above the checkpoint")
    cfg = get_config(str(cfg_path), update_cachedir=True)
    backbone = create_backbone(cfg)
    head = build_smpl_head(cfg)
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    state = state.get("state_dict", state)

    def part(prefix):
        return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}

    # strict: a checkpoint that doesn't fill every weight must fail here, not export noise.
    backbone.load_state_dict(part("backbone."), strict=True)
    head.load_state_dict(part("smpl_head."), strict=True)
    smpl = None
    if smpl_path:
        from hmr2.models import SMPL

        smpl_cfg = {k.lower(): v for k, v in dict(cfg.SMPL).items()}
        smpl_cfg["model_path"] = str(smpl_path)
        smpl = SMPL(**smpl_cfg)
    # Not `backbone.eval()` as a value: 4D-Humans' ViT overrides train() and returns None.
    for module in (backbone, head, smpl):
        if module is not None:
            module.eval()
    return cfg, backbone, head, smpl


def make_wrapper(backbone, head, smpl):
    import torch

    class Hmr2Export(torch.nn.Module):
        """HMR2.forward_step for inference: the crop in, the contract's outputs out."""

        def __init__(self):
            super().__init__()
            self.backbone, self.head, self.smpl = backbone, head, smpl

        def forward(self, img):
            b = img.shape[0]
            # The ViT reads the middle 192 columns of the 256x256 crop.
            feats = self.backbone(img[:, :, :, 32:-32])
            params, cam, _ = self.head(feats)
            go = params["global_orient"].reshape(b, 1, 3, 3)
            bp = params["body_pose"].reshape(b, -1, 3, 3)
            betas = params["betas"].reshape(b, -1)
            outs = [cam, go, bp, betas]
            if self.smpl is not None:
                out = self.smpl(global_orient=go, body_pose=bp, betas=betas, pose2rot=False)
                outs += [out.joints.reshape(b, -1, 3), out.vertices.reshape(b, -1, 3)]
            return tuple(outs)

    wrapper = Hmr2Export()
    wrapper.eval()
    return wrapper


def explicit_cross(a, b, dim=None):
    """torch.cross written out: the TorchScript exporter fails on `torch.cross(a, b)`
    without `dim`, which 4D-Humans' rot6d_to_rotmat uses."""
    import torch

    dim = -1 if dim is None else dim
    a1, a2, a3 = a.unbind(dim)
    b1, b2, b3 = b.unbind(dim)
    return torch.stack((a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1), dim=dim)


def export(model, output, names):
    import onnx
    import torch

    dummy = torch.zeros(2, 3, 256, 256)
    axes = {n: {0: "batch"} for n in ["img"] + names}
    with tempfile.TemporaryDirectory(dir=Path(output).parent) as tmp:
        raw = os.path.join(tmp, "raw.onnx")
        kwargs = dict(input_names=["img"], output_names=names, dynamic_axes=axes, opset_version=17)
        # The TorchScript exporter (`dynamo=False`; torch before 2.5 has only that one):
        # it needs no onnxscript and keeps the dynamic batch axis of this model.
        import inspect

        if "dynamo" in inspect.signature(torch.onnx.export).parameters:
            kwargs["dynamo"] = False
        cross, torch.cross = torch.cross, explicit_cross
        try:
            torch.onnx.export(model, (dummy,), raw, **kwargs)
        finally:
            torch.cross = cross
        proto = onnx.load(raw)  # reads any external files the exporter wrote
    # The exporter leaves sizes after a reshape open ("Reshapebody_pose_dim_1"); write the
    # real ones, so the file states the contract it keeps.
    sizes = [tuple(t.shape[1:]) for t in model(dummy)]
    for out, dims in zip(proto.graph.output, sizes):
        shape = out.type.tensor_type.shape
        del shape.dim[:]
        shape.dim.add().dim_param = "batch"
        for d in dims:
            shape.dim.add().dim_value = int(d)
    data = Path(output).name + ".data"
    if (Path(output).parent / data).exists():
        (Path(output).parent / data).unlink()  # onnx appends to an existing data file
    onnx.save_model(proto, output, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=data, size_threshold=1024)
    onnx.checker.check_model(output)


def check(model, output, names, batch=3):
    """Largest |PyTorch - onnxruntime| per output on random normalised crops."""
    import numpy as np
    import onnxruntime as ort
    import torch

    x = torch.randn(batch, 3, 256, 256)
    with torch.no_grad():
        want = [t.numpy() for t in model(x)]
    got = ort.InferenceSession(output, providers=["CPUExecutionProvider"]).run(names, {"img": x.numpy()})
    worst = 0.0
    for n, w, g in zip(names, want, got):
        d = float(np.abs(w - g).max())
        worst = max(worst, d)
        print(f"  {n:18s} {str(list(g.shape)):16s} max |torch - onnxruntime| = {d:.3g}")
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", help="4D-Humans checkpoint (.ckpt)")
    ap.add_argument("output", help="the .onnx to write; weights go beside it as OUTPUT.data")
    ap.add_argument("--smpl", type=Path, help="your SMPL model file (e.g. SMPL_NEUTRAL.pkl): adds keypoints and vertices")
    ap.add_argument("--check", action="store_true", help="compare onnxruntime with PyTorch after export")
    args = ap.parse_args()

    import torch

    _, backbone, head, smpl = load_parts(args.checkpoint, args.smpl)
    model = make_wrapper(backbone, head, smpl)
    names = OUTPUTS + (SMPL_OUTPUTS if smpl is not None else [])
    with torch.no_grad():
        export(model, args.output, names)
    print(f"wrote {args.output} (+ {Path(args.output).name}.data) with outputs {names}")
    if args.check:
        worst = check(model, args.output, names)
        print(f"largest difference: {worst:.3g}")


if __name__ == "__main__":
    main()
