"""Field values of every declarable type, good and bad by the engine-neutral bad-row rules, for generated files."""

from __future__ import annotations

from hypothesis import strategies as st

# Canonical spellings (which Spark's check accepts by printing the value back) and the others, which go by the
# type's pattern on both engines.
GOOD_VALUES = {
    "int": ["0", "-7", "+12", "007", "-0", "2147483647", "-2147483648", ""],
    "bigint": ["9223372036854775807", "-1", "+0042", "0", ""],
    "double": ["1.5", "-0.25", "1e3", ".5", "5.", "2E-2", "0.10", ""],
    "decimal(10, 2)": ["1.50", "-0.05", "12", "7.5", "+3.25", "0.00", "-00.10", "12345678.99", ".5", "-.05", "5.", ""],
    "date": ["2026-01-31", "2024-02-29", "1999-12-01", "0999-01-01", ""],
    "boolean": ["true", "FALSE", "True", "false", ""],
    "string": ["x", "a b", '"q,uoted"', '"say ""hi"""', ""],
}
BAD_VALUES = {
    "int": ["1.0", "abc", "2147483648", "1 2", "0x10", " 12", "12 ", "1e3", "+-1"],
    "bigint": ["9223372036854775808", "1.5", " 1", "1_000"],
    "double": ["abc", "1,5", "NaN", "Infinity", "-Infinity", "inf", "1e", "--1", " 1.5"],
    "decimal(10, 2)": ["1.505", "1e2", "123456789.00", "abc", " 1.50", "1.5.0", ".", "-.", ".505"],
    "date": ["2026-02-30", "2026-1-5", "20260101", "2026-01-01T00:00:00", "-0001-01-01", "+2026-01-01", " 2026-01-01"],
    "boolean": ["yes", "1", "t", "truth", " true"],
    "string": ["\ufffd"],
}
GOOD = {t: st.sampled_from(values) for t, values in GOOD_VALUES.items()}
BAD = {t: st.sampled_from(values) for t, values in BAD_VALUES.items()}
COLUMNS = {
    "i": "int",
    "big": "bigint",
    "d": "double",
    "dec": "decimal(10, 2)",
    "day": "date",
    "b": "boolean",
    "s": "string",
}


def with_shape(fields: list[str], shape: str) -> bytes:
    """A record of ``fields``; of shape ``bytes``, with a byte that is not UTF-8 at the end of its last field
    (inside its quotes: text after a closing quote is broken quoting, another defect)."""
    line = ",".join(fields).encode()
    if shape != "bytes":
        return line
    return line[:-1] + b'\xff"' if line.endswith(b'"') else line + b"\xff"


@st.composite
def files_with_bad_records(draw) -> tuple[bytes, int]:
    """A CSV file of good and bad values, short and long records, invalid bytes, quoted line breaks and empty
    lines, and how many records it holds."""
    header = ",".join(COLUMNS).encode()
    lines, records = [header], 0
    for _ in range(draw(st.integers(0, 12))):
        if draw(st.integers(0, 9)) == 0:
            lines.append(b"")  # an empty line: no record
            continue
        fields = [draw(BAD[t] if draw(st.integers(0, 5)) == 0 else GOOD[t]) for t in COLUMNS.values()]
        if draw(st.booleans()):
            fields[-1] = draw(st.sampled_from(['"two\nlines"', '"a\n\nb, ""c"""', '"\n"']))
        shape = draw(st.sampled_from(["ok"] * 6 + ["short", "long", "bytes"]))
        if shape == "short":
            fields = fields[:-1]
        elif shape == "long":
            fields.append("extra")
        lines.append(with_shape(fields, shape))
        records += 1
    return b"\n".join(lines) + b"\n", records


def large_file_with_bad_records(records: int, seed: int) -> bytes:
    """A CSV file of ``records`` records drawn as :func:`files_with_bad_records` draws them (every kind of bad
    value and shape), from a seeded generator rather than Hypothesis: thousands of records in one file."""
    import random

    rng = random.Random(seed)
    lines = [",".join(COLUMNS).encode()]
    for _ in range(records):
        fields = [rng.choice((BAD_VALUES if rng.randrange(40) == 0 else GOOD_VALUES)[t]) for t in COLUMNS.values()]
        if rng.randrange(20) == 0:
            fields[-1] = rng.choice(['"two\nlines"', '"a\n\nb, ""c"""', '"\n"'])
        shape = rng.choices(["ok", "short", "long", "bytes"], weights=[96, 1, 2, 1])[0]
        if shape == "short":
            fields = fields[:-1]
        elif shape == "long":
            fields.append("extra")
        lines.append(with_shape(fields, shape))
    return b"\n".join(lines) + b"\n"
