"""Generate synthetic house prices and split them into train and test sets."""
import argparse
import random

from pipeline import io


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if a.rows < 10:
        raise SystemExit("prepare: --rows must be at least 10, got %d" % a.rows)
    rnd = random.Random(a.seed)
    rows = []
    for _ in range(a.rows):
        area = rnd.uniform(30, 250)
        rooms = rnd.randint(1, 7)
        age = rnd.uniform(0, 80)
        price = 1200 * area + 8000 * rooms - 900 * age + 25000 + rnd.gauss(0, 15000)
        rows.append({"area": round(area, 3), "rooms": rooms, "age": round(age, 3), "price": round(price, 2)})
    cut = int(len(rows) * 0.8)
    io.write_rows(io.output_path("train"), rows[:cut])
    io.write_rows(io.output_path("test"), rows[cut:])
    print("prepare: %d train rows, %d test rows" % (cut, len(rows) - cut))


if __name__ == "__main__":
    main()
