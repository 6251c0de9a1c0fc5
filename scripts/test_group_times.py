"""
Print the wall time spent in each test group (tests/<group>/...) from a pytest JUnit XML file, then in each
folder of the integration group (tests/integration/<folder>/..., the files directly in it as ``integration/*``):
the figures the CI budget (DESIGN.md section 4b) is kept against.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import defaultdict


def groups(classname: str) -> tuple[str, str | None]:
    """The group of a test case's class name (``tests.integration.spark.test_engine``) and its integration folder."""
    parts = classname.split(".")
    if len(parts) < 2 or parts[0] != "tests":
        return parts[0], None
    if parts[1] != "integration":
        return parts[1], None
    return parts[1], f"integration/{parts[2] if len(parts) > 3 else '*'}"


def main(path: str) -> None:
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for case in ET.parse(path).iter("testcase"):
        for group in groups(case.get("classname", "")):
            if group is not None:
                seconds[group] += float(case.get("time", 0))
                counts[group] += 1
    for title, chosen in (("test group", False), ("integration folder", True)):
        print(f"{title} wall times:")
        for group in sorted(
            (g for g in seconds if g.startswith("integration/") is chosen), key=seconds.get, reverse=True
        ):
            print(f"  {group:<22} {counts[group]:>4} tests  {seconds[group]:7.1f} s")


if __name__ == "__main__":
    main(sys.argv[1])
