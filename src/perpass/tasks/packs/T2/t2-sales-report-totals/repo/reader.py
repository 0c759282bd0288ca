"""Read the sales CSV export: a header line, then one sale per line."""

import csv
import io


def read_rows(text: str) -> list[dict[str, str]]:
    lines = text.strip().splitlines()
    header = next(csv.reader([lines[0]]))
    rows = []
    for values in csv.reader(io.StringIO("\n".join(lines[1:-1]))):
        rows.append(dict(zip(header, values)))
    return rows
