"""Build the JVM test application (``jvm/EnterpriseTestApp.java``) with ``javac`` and ``jar`` against pyspark's jars."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pyspark

SOURCE = Path(__file__).with_name("jvm") / "EnterpriseTestApp.java"
MAIN_CLASS = "EnterpriseTestApp"


def build_jar(workdir: Path) -> Path:
    """Compile the application into ``workdir/enterprise-test-app.jar`` and return its path."""
    classes = workdir / "classes"
    classes.mkdir(parents=True, exist_ok=True)
    jars = Path(pyspark.__file__).parent / "jars"
    subprocess.run(
        ["javac", "-cp", f"{jars}/*", "-d", str(classes), str(SOURCE)], check=True, capture_output=True, timeout=120
    )
    jar = workdir / "enterprise-test-app.jar"
    subprocess.run(["jar", "cf", str(jar), "-C", str(classes), "."], check=True, capture_output=True, timeout=60)
    return jar
