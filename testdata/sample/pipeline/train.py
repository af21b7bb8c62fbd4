"""Fit a least-squares linear model of price on the features.

The solved weights are checkpointed in $RUNWAY_CHECKPOINT, keyed by the
training data's hash: a retry, or a `runway recover` of a fit that failed
after solving (say, while writing its outputs), reuses them instead of
solving again.
"""
import hashlib
import json
import math
import os

from pipeline import io, linalg


def checkpoint_path():
    d = os.environ.get("RUNWAY_CHECKPOINT")
    return os.path.join(d, "weights.json") if d else None


def solve(path, xs, ys):
    with open(path, "rb") as f:
        data_hash = hashlib.sha256(f.read()).hexdigest()
    ckpt = checkpoint_path()
    if ckpt and os.path.exists(ckpt):
        with open(ckpt) as f:
            saved = json.load(f)
        if saved.get("data") == data_hash:
            print("fit: resumed from checkpoint %s" % ckpt)
            return saved["weights"]
    w = linalg.least_squares(xs, ys)
    if ckpt:
        with open(ckpt + ".tmp", "w") as f:
            json.dump({"data": data_hash, "weights": w}, f)
        os.replace(ckpt + ".tmp", ckpt)
    return w


def main():
    path = io.input_path("data")
    rows = io.read_rows(path)
    xs = [[r[f] for f in io.FEATURES] for r in rows]
    ys = [r["price"] for r in rows]
    w = solve(path, xs, ys)
    rmse = math.sqrt(sum((linalg.predict(w, x) - y) ** 2 for x, y in zip(xs, ys)) / len(ys))
    with open(io.output_path("model"), "w") as f:
        json.dump({"features": io.FEATURES, "intercept": w[0], "weights": w[1:]}, f, indent=2, sort_keys=True)
    io.write_value("train_rmse", round(rmse, 4))
    print("fit: %d rows, train rmse %.1f, weights %s" % (len(rows), rmse, [round(v, 1) for v in w]))


if __name__ == "__main__":
    main()
