"""Helpers shared by the model scripts (scripts/convert_*.py, scripts/quantize_hmr2.py)."""

import hashlib


def sha256_file(path):
    """Hex sha256 of a file, read a MiB at a time (models reach gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def converter_record(opset, preprocessing, **extra):
    """The manifest's "converter" block: the tools' versions as imported, and the steps."""
    import numpy as np
    import onnx
    import tensorflow as tf
    import tf2onnx

    return {"tool": "tf2onnx", "tf2onnx": tf2onnx.__version__, "tensorflow": tf.__version__,
            "onnx": onnx.__version__, "numpy": np.__version__, "opset": opset,
            "preprocessing": preprocessing, **extra}


def halve_exact_float16(path):
    """float32 initializers that are exactly float16 → float16 + Cast. Returns how many."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(path)
    graph = model.graph
    kept, casts, halved = [], [], 0
    for init in graph.initializer:
        array = numpy_helper.to_array(init)
        exact = (array.dtype == np.float32 and array.size >= 256
                 and np.array_equal(array.astype(np.float16).astype(np.float32), array))
        if not exact:
            kept.append(init)
            continue
        half_name = init.name + "__f16"
        kept.append(numpy_helper.from_array(array.astype(np.float16), half_name))
        casts.append(helper.make_node("Cast", [half_name], [init.name], to=onnx.TensorProto.FLOAT,
                                      name=init.name + "__cast"))
        halved += 1
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return halved
