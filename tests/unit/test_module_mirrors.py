"""
Every source module with behaviour has a test module mirroring it (the providers' convention, STYLE.md).

A module ``<package>/<module>.py`` is mirrored by ``tests/unit/<package>/test_<module>.py`` or
``tests/integration/<package>/test_<module>.py``. pytest imports test modules by their base name here (no
``__init__.py``), so where ``test_<module>.py`` is taken by another package's, the package's name may join it:
``test_<package>_<module>.py`` or ``test_<module>_<package>.py``, the package's name singular or plural
(``plugin/test_plugin_models.py``, ``operators/test_spark_submit_operator.py``, ``events/test_event_dag.py``).

The modules below have none, each for the reason given. A new module needs a mirroring test module, or an entry
here saying where it is tested or why it has nothing to test.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "src" / "airflow_provider_enterprise"
TESTS = Path(__file__).parents[1]

#: Modules without a mirroring test module: module -> why (no behaviour of its own, or where it is tested).
WITHOUT_MIRROR = {
    # -- no behaviour of their own: package markers, re-exports, a protocol -------------
    "__init__.py": "version and get_provider_info: tests/integration/test_provider.py, tests/unit/test_packaging.py",
    "clients/__init__.py": "package marker",
    "compiler/__init__.py": "package marker",
    "dev/__init__.py": "package marker",
    "engines/__init__.py": "package marker",
    "events/__init__.py": "package marker",
    "hooks/__init__.py": "package marker",
    "migrations/__init__.py": "package marker (the SQL files: tests/integration/hooks/test_metadata.py)",
    "operators/__init__.py": "package marker",
    "ops/__init__.py": "package marker",
    "output/__init__.py": "re-exports output/commit.py",
    "plugin/__init__.py": "the AirflowPlugin's attributes: tests/unit/plugin/test_api.py",
    "resilience/__init__.py": "package marker",
    "security/__init__.py": "package marker",
    "sensors/__init__.py": "package marker",
    "spark_app/__init__.py": "package marker",
    "spec/__init__.py": "re-exports spec/models.py and spec/transformations.py",
    "triggers/__init__.py": "package marker",
    "engines/base.py": "the Engine protocol and the JobResult record, no behaviour",
    # -- tested through the stage that uses them ------------------------------------------------------------
    "compiler/checks.py": "tests/unit/compiler/test_check_verdicts.py, tests/integration/engines/test_local_checks.py",
    "compiler/lineage.py": "tests/unit/compiler/test_column_lineage.py",
    "compiler/spark.py": "tests/integration/spark/test_equivalence.py, test_oracle.py (against the DuckDB back end)",
    "engines/duckdb_checks.py": "tests/integration/engines/test_local_checks.py",
    "engines/duckdb_inputs.py": "tests/unit/engines/test_sniffed_schemas.py, tests/integration/engines/test_csv_*.py",
    "engines/quarantine.py": "tests/integration/engines/test_bad_rows.py",
    "engines/spark.py": "tests/integration/spark/test_spark_engine.py (Spark's tests share tests/integration/spark/)",
    "events/runs.py": "tests/integration/events/test_event_dag.py (needs a task's supervisor)",
    "operators/submitted_job.py": "tests/stack/test_job_submission.py",
    "output/hadoop_fs.py": "tests/integration/spark/test_spark_object_storage.py",
    "output/object_store.py": "tests/integration/storage/test_object_store.py",
    "sensors/circuit.py": "tests/integration/sensors/test_job.py",
    "spark_app/checks.py": "tests/integration/spark/test_check_equivalence.py",
    "spark_app/counting.py": "tests/integration/spark/test_input_counting.py",
    "spark_app/inputs.py": "tests/integration/spark/test_bad_rows_equivalence.py, test_spark_app.py",
    "spark_app/job.py": "tests/integration/spark/test_spark_app.py",
    "spark_app/main.py": "tests/integration/spark/test_spark_error_classes.py",
    # -- the registry, split out of hooks/metadata.py (#33): tested through the hook -------------------------
    "registry/__init__.py": "package marker",
    "registry/attempts.py": "tests/integration/hooks/test_metadata.py",
    "registry/connection.py": "tests/integration/hooks/test_metadata.py, hooks/test_async_registry_pool.py",
    "registry/migrations.py": "tests/integration/hooks/test_metadata.py",
    "registry/queries.py": "tests/integration/hooks/test_metadata.py, resilience/test_dead_letter.py",
    # -- triggers -------------------------------------------------------------------------------------------
    "triggers/base.py": "tests/unit/triggers/test_polling_trigger.py and every trigger's tests",
    "triggers/redis_stream.py": "tests/integration/events/test_event_dag.py",
}


def mirror_names(module: Path) -> set[str]:
    """The base names of the test modules that mirror ``module`` (a path relative to the package)."""
    names = {f"test_{module.stem}.py"}
    if module.parent != Path("."):
        package = module.parent.name
        for word in {package, package.removesuffix("s")}:
            names |= {f"test_{word}_{module.stem}.py", f"test_{module.stem}_{word}.py"}
    return names


def modules_without_mirror() -> list[str]:
    """Every source module no test module mirrors."""
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE)
        folders = [TESTS / kind / module.parent for kind in ("unit", "integration")]
        if not any((folder / name).is_file() for folder in folders for name in mirror_names(module)):
            missing.append(module.as_posix())
    return missing


def test_every_module_without_a_mirror_says_why() -> None:
    unexplained = sorted(set(modules_without_mirror()) - set(WITHOUT_MIRROR))
    assert not unexplained, (
        f"modules without a test module mirroring them: {', '.join(unexplained)}. Add "
        "tests/unit/<package>/test_<module>.py (or integration/), or say in WITHOUT_MIRROR where they are tested"
    )
    assert all(reason.strip() for reason in WITHOUT_MIRROR.values())


def test_the_mirror_rule_finds_the_known_mirrors() -> None:
    found = set(modules_without_mirror())
    mirrored = {"spec/transformations.py", "operators/spark_submit.py", "plugin/models.py", "config.py"}
    assert not mirrored & found
    assert "engines/base.py" in found  # the control: a module known to have no mirror
