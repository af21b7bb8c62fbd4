"""Evaluate the model on held-out rows: RMSE and R^2."""
import json
import math

from pipeline import io, linalg


def main():
    with open(io.input_path("model")) as f:
        model = json.load(f)
    w = [model["intercept"]] + model["weights"]
    rows = io.read_rows(io.input_path("data"))
    xs = [[r[f] for f in model["features"]] for r in rows]
    ys = [r["price"] for r in rows]
    pred = [linalg.predict(w, x) for x in xs]
    mean = sum(ys) / len(ys)
    ss_res = sum((p - y) ** 2 for p, y in zip(pred, ys))
    ss_tot = sum((y - mean) ** 2 for y in ys)
    rmse = math.sqrt(ss_res / len(ys))
    r2 = 1 - ss_res / ss_tot if ss_tot else 0.0
    io.write_value("rmse", round(rmse, 4))
    io.write_value("r2", round(r2, 6))
    print("evaluate: %d rows, rmse %.1f, r2 %.4f" % (len(rows), rmse, r2))


if __name__ == "__main__":
    main()
