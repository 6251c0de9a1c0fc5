"""Print the wall time spent in each test group (tests/<group>/...) from a pytest JUnit XML file."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import defaultdict


def main(path: str) -> None:
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for case in ET.parse(path).iter("testcase"):
        parts = case.get("classname", "").split(".")
        group = parts[1] if len(parts) > 1 and parts[0] == "tests" else parts[0]
        seconds[group] += float(case.get("time", 0))
        counts[group] += 1
    print("test group wall times:")
    for group in sorted(seconds, key=seconds.get, reverse=True):
        print(f"  {group:<12} {counts[group]:>4} tests  {seconds[group]:7.1f} s")


if __name__ == "__main__":
    main(sys.argv[1])
