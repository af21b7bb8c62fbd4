"""Fit a least-squares linear model of price on the features."""
import json
import math

from pipeline import io, linalg


def main():
    rows = io.read_rows(io.input_path("data"))
    xs = [[r[f] for f in io.FEATURES] for r in rows]
    ys = [r["price"] for r in rows]
    w = linalg.least_squares(xs, ys)
    rmse = math.sqrt(sum((linalg.predict(w, x) - y) ** 2 for x, y in zip(xs, ys)) / len(ys))
    with open(io.output_path("model"), "w") as f:
        json.dump({"features": io.FEATURES, "intercept": w[0], "weights": w[1:]}, f, indent=2, sort_keys=True)
    io.write_value("train_rmse", round(rmse, 4))
    print("fit: %d rows, train rmse %.1f, weights %s" % (len(rows), rmse, [round(v, 1) for v in w]))


if __name__ == "__main__":
    main()
