"""runway's task I/O contract: inputs in $RUNWAY_INPUTS, outputs in $RUNWAY_OUTPUTS."""
import csv
import os


def input_path(name):
    return os.path.join(os.environ["RUNWAY_INPUTS"], name)


def output_path(name):
    d = os.environ["RUNWAY_OUTPUTS"]
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, name)


def write_value(name, value):
    with open(output_path(name), "w") as f:
        f.write(str(value))


FEATURES = ["area", "rooms", "age"]


def read_rows(path):
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        return [{k: float(v) for k, v in row.items()} for row in r]


def write_rows(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FEATURES + ["price"])
        w.writeheader()
        for row in rows:
            w.writerow(row)
