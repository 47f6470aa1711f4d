#!/usr/bin/env python3
"""Turn the official SMPL model .pkl into the .npz that `posekit export --to bvh
--smpl-model` reads: v_template [6890,3], shapedirs [6890,3,K], J_regressor [24,6890]
(dense), kintree_table [2,24], all C-contiguous, stored with np.savez (not compressed).

posekit ships no SMPL data: download the model yourself (https://smpl.is.tue.mpg.de,
under its licence), e.g. SMPL_NEUTRAL.pkl, then

    python scripts/smpl_pkl_to_npz.py SMPL_NEUTRAL.pkl SMPL_NEUTRAL.npz

Needs numpy, and scipy when J_regressor is stored sparse (as in the official files). The
official .pkl holds chumpy arrays; chumpy need not be installed: its objects are read
back as the plain arrays they wrap.
"""

import argparse
import pickle
import sys

import numpy as np


class _Wrapped:
    """Stands in for a chumpy object while unpickling; keeps its array."""

    def __init__(self, *args, **kwargs):
        self.state = None

    def __setstate__(self, state):
        self.state = state

    def array(self):
        state = self.state if isinstance(self.state, dict) else {}
        for key in ("x", "a"):
            if key in state:
                return np.asarray(state[key])
        raise ValueError("a chumpy object without its array")


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module.startswith("chumpy"):
            return _Wrapped
        return super().find_class(module, name)


def dense(value):
    if isinstance(value, _Wrapped):
        return value.array()
    if hasattr(value, "toarray"):
        return value.toarray()
    return np.asarray(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pkl")
    parser.add_argument("npz")
    args = parser.parse_args()
    with open(args.pkl, "rb") as f:
        model = _Unpickler(f, encoding="latin1").load()
    out = {}
    for key in ("v_template", "shapedirs", "J_regressor", "kintree_table"):
        if key not in model:
            sys.exit(f"{args.pkl} has no {key}: is it an SMPL model file?")
        out[key] = np.ascontiguousarray(dense(model[key]))
    out["v_template"] = out["v_template"].astype(np.float64)
    out["shapedirs"] = out["shapedirs"].astype(np.float64)
    out["J_regressor"] = out["J_regressor"].astype(np.float64)
    out["kintree_table"] = out["kintree_table"].astype(np.int64)
    np.savez(args.npz, **out)
    shapes = ", ".join(f"{k} {v.shape}" for k, v in out.items())
    print(f"{args.npz}: {shapes}")


if __name__ == "__main__":
    main()
