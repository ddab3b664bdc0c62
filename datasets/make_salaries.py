"""Generate datasets/salaries.csv: a synthetic table of data-science salaries (seeded, offline).

    python datasets/make_salaries.py            # rewrites datasets/salaries.csv
    python datasets/make_salaries.py --check    # regenerates in memory, compares with the file

Every number comes from the rules below plus seeded noise; no real person's salary is in it.
The salary is a product of factors, so its logarithm is a sum: a model that one-hot encodes the
columns and predicts log(salary) can learn the rules, except for the noise (about ±15 %).

    salary_in_usd = BASE[experience_level]
                    × TITLE[job_title]
                    × COUNTRY[employee_residence] ** 0.6 × COUNTRY[company_location] ** 0.4
                    × SIZE[company_size] × REMOTE[remote_ratio] × EMPLOYMENT[employment_type]
                    × 1.04 ** (work_year − 2024)
                    × exp(noise),   noise ~ Normal(0, 0.15)

rounded to 100 USD. About 1.5 % of the rows have an empty company_size (missing on purpose, for
the lesson on filling gaps without leaking information from the test rows).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

SEED = 2024
N_ROWS = 3000
OUT = Path(__file__).resolve().parent / "salaries.csv"
COLUMNS = [
    "work_year", "experience_level", "employment_type", "job_title", "company_size", "remote_ratio",
    "employee_residence", "company_location", "salary_in_usd",
]

# value: (share of rows, salary factor)
YEARS = {2020: 0.04, 2021: 0.08, 2022: 0.24, 2023: 0.38, 2024: 0.26}
EXPERIENCE = {"EN": (0.16, 85_000), "MI": (0.30, 115_000), "SE": (0.44, 155_000), "EX": (0.10, 205_000)}
EMPLOYMENT = {"FT": (0.94, 1.00), "CT": (0.025, 1.10), "PT": (0.02, 0.55), "FL": (0.015, 0.80)}
TITLES = {
    "Data Analyst": (0.18, 0.72),
    "Data Scientist": (0.24, 1.00),
    "Data Engineer": (0.20, 0.98),
    "Machine Learning Engineer": (0.14, 1.12),
    "Analytics Engineer": (0.07, 0.90),
    "Research Scientist": (0.07, 1.15),
    "MLOps Engineer": (0.05, 1.05),
    "Data Science Manager": (0.05, 1.20),
}
COUNTRIES = {
    "US": (0.55, 1.00), "GB": (0.08, 0.72), "CA": (0.06, 0.82), "DE": (0.06, 0.70), "IN": (0.06, 0.28),
    "FR": (0.04, 0.60), "ES": (0.04, 0.50), "NL": (0.03, 0.68), "PL": (0.03, 0.42), "BR": (0.03, 0.32),
    "AU": (0.02, 0.80),
}
SIZES = {"S": (0.12, 0.85), "M": (0.68, 1.00), "L": (0.20, 1.05)}
REMOTE = {0: (0.45, 1.00), 50: (0.15, 0.97), 100: (0.40, 1.00)}
NOISE_SD = 0.15
MISSING_SIZE_SHARE = 0.015


def _pick(rng: np.random.Generator, table: dict, n: int) -> np.ndarray:
    keys = list(table)
    shares = np.array([v[0] if isinstance(v, tuple) else v for v in table.values()], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=shares / shares.sum())]


def generate(n: int = N_ROWS, seed: int = SEED) -> list[dict]:
    """The rows of the table, as dicts, in a fixed order."""
    rng = np.random.default_rng(seed)
    years = _pick(rng, YEARS, n)
    levels = _pick(rng, EXPERIENCE, n)
    employment = _pick(rng, EMPLOYMENT, n)
    titles = _pick(rng, TITLES, n)
    # Managers are rarely entry level: move most EN managers up one level.
    for i in np.flatnonzero((titles == "Data Science Manager") & (levels == "EN")):
        levels[i] = "SE" if rng.random() < 0.8 else "EN"
    sizes = _pick(rng, SIZES, n)
    remote = _pick(rng, REMOTE, n)
    residence = _pick(rng, COUNTRIES, n)
    location = residence.copy()
    # Fully remote people outside the US often work for a US company.
    abroad_remote = (remote == 100) & (residence != "US")
    location[abroad_remote & (rng.random(n) < 0.45)] = "US"
    # A few people moved: company elsewhere than residence.
    moved = rng.random(n) < 0.04
    location[moved] = _pick(rng, COUNTRIES, int(moved.sum()))
    noise = rng.normal(0.0, NOISE_SD, size=n)
    missing_size = rng.random(n) < MISSING_SIZE_SHARE

    rows = []
    for i in range(n):
        salary = (
            EXPERIENCE[levels[i]][1]
            * TITLES[titles[i]][1]
            * COUNTRIES[residence[i]][1] ** 0.6
            * COUNTRIES[location[i]][1] ** 0.4
            * SIZES[sizes[i]][1]
            * REMOTE[remote[i]][1]
            * EMPLOYMENT[employment[i]][1]
            * 1.04 ** (int(years[i]) - 2024)
            * np.exp(noise[i])
        )
        rows.append({
            "work_year": int(years[i]),
            "experience_level": levels[i],
            "employment_type": employment[i],
            "job_title": titles[i],
            "company_size": "" if missing_size[i] else sizes[i],
            "remote_ratio": int(remote[i]),
            "employee_residence": residence[i],
            "company_location": location[i],
            "salary_in_usd": int(round(salary / 100.0) * 100),
        })
    return rows


def to_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate datasets/salaries.csv (synthetic, seeded).")
    parser.add_argument("--check", action="store_true", help="compare with the existing file instead of writing")
    args = parser.parse_args(argv)
    text = to_csv(generate())
    if args.check:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print(f"{OUT.name}: {'matches' if same else 'DIFFERS from'} the generator")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text.splitlines()) - 1} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
