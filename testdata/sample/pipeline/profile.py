"""Summarise the training data: count, mean and range of every column."""
import json

from pipeline import io


def main():
    rows = io.read_rows(io.input_path("data"))
    cols = io.FEATURES + ["price"]
    summary = {}
    for c in cols:
        vals = [r[c] for r in rows]
        summary[c] = {"mean": sum(vals) / len(vals), "min": min(vals), "max": max(vals)}
    with open(io.output_path("summary"), "w") as f:
        json.dump({"rows": len(rows), "columns": summary}, f, indent=2, sort_keys=True)
    io.write_value("rows", len(rows))
    print("profile: %d rows" % len(rows))


if __name__ == "__main__":
    main()
