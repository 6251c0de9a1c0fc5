"""
The ``enterprise-orchestrator`` command.

``db start|stop|status|uri`` manage the embedded development registry, ``migrate`` applies registry
migrations, ``registry purge`` deletes rows past retention, ``jobs list|show`` read the registry,
``jobs submit|status|cancel|logs`` run job specs through the generic job DAG (Airflow's REST API),
``dags install`` writes that DAG into a DAGs folder, ``dlq`` manages dead letters (list, show, replay, discard,
purge, reconcile), ``events list|show`` read the job messages read from streams (dead letters among them),
``audit list`` reads the audit trail (by path, user, DAG, outcome), ``circuits list|reset``
the circuit breakers, ``doctor`` checks the installation and says how to fix what is wrong, ``generate-data``
writes sample input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_enterprise.config import InvalidSettings, Settings, load_settings
from airflow_provider_enterprise.dev import embedded_db

if TYPE_CHECKING:  # imported where used: the console script starts without them
    from airflow_provider_enterprise.clients.jobs import EnterpriseClient
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook
    from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_PENDING = 3  # a submitted job is still queued or running


def _hook(settings: Settings) -> EnterpriseMetadataHook:
    from airflow_provider_enterprise.hooks.metadata import EnterpriseMetadataHook

    return EnterpriseMetadataHook(settings=settings)


def _masked(value: Any) -> Any:
    """
    ``value`` with its secrets masked (:func:`~airflow_provider_enterprise.security.masking_keys.masked_for_showing`):
    registry rows are masked when written, and this covers older ones.
    """
    from airflow_provider_enterprise.security.masking_keys import masked_for_showing

    return masked_for_showing(value)


def _print_json(value: Any) -> None:
    print(json.dumps(_masked(value), default=str, indent=2))


def _print_rows(rows: list[dict[str, Any]], columns: Sequence[str], as_json: bool) -> None:
    """Print ``rows`` as JSON (every field) or as a table of ``columns``."""
    if as_json:
        _print_json(rows)
    else:
        _print_table(rows, columns)


def _print_table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    rows = _masked(rows)
    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c, "") if row.get(c) is not None else "").ljust(widths[c]) for c in columns))


# -- db ---------------------------------------------------------------------------------------------


def cmd_db_start(args: argparse.Namespace, settings: Settings) -> int:
    reason = embedded_db.refusal_reason(settings)
    if reason:
        print(f"refusing to start the embedded registry: {reason}", file=sys.stderr)
        return EXIT_FAILURE
    directory = embedded_db.data_dir(settings)
    server = embedded_db.start(directory, (embedded_db.REGISTRY_DATABASE, *args.database))
    print(f"embedded PostgreSQL running (pid {server.pid}) in {directory}")
    print(f"registry: {server.uri()}")
    for database in args.database:
        print(f"{database}: {server.uri(database)}")
    print("stop it with: enterprise-orchestrator db stop")
    return EXIT_OK


def cmd_db_stop(args: argparse.Namespace, settings: Settings) -> int:
    directory = embedded_db.data_dir(settings)
    if embedded_db.stop(directory):
        print(f"embedded PostgreSQL in {directory} stopped")
    else:
        print(f"no embedded PostgreSQL running in {directory}")
    return EXIT_OK


def _running_server_or_explain(settings: Settings) -> embedded_db.EmbeddedServer | None:
    directory = embedded_db.data_dir(settings)
    server = embedded_db.running_server(directory)
    if server is None:
        print(f"no embedded PostgreSQL running in {directory}; run `enterprise-orchestrator db start`", file=sys.stderr)
    return server


def cmd_db_status(args: argparse.Namespace, settings: Settings) -> int:
    server = _running_server_or_explain(settings)
    if server is None:
        return EXIT_FAILURE
    print(f"running (pid {server.pid}) in {server.data_dir}: {server.uri()}")
    return EXIT_OK


def cmd_db_uri(args: argparse.Namespace, settings: Settings) -> int:
    server = _running_server_or_explain(settings)
    if server is None:
        return EXIT_FAILURE
    if args.create:
        embedded_db.ensure_database(server, args.database)
    print(server.sqlalchemy_uri(args.database) if args.sqlalchemy else server.uri(args.database))
    return EXIT_OK


# -- registry -----------------------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    hook = _hook(settings)
    applied = hook.migrate()
    print(f"registry {hook.describe_target()}: " + (f"applied {', '.join(applied)}" if applied else "up to date"))
    return EXIT_OK


def cmd_registry_purge(args: argparse.Namespace, settings: Settings) -> int:
    from airflow_provider_enterprise.ops.retention import RegistryRetention, RetentionPolicy

    retention = RegistryRetention(_hook(settings), duty_cycle=args.duty_cycle)
    report = retention.purge(RetentionPolicy.configured(settings, args.older_than), dry_run=args.dry_run)
    print("would purge (dry run, nothing deleted):" if report.dry_run else "purged:")
    rows = [{"table": t, "rows": n, "older_than": report.cutoffs[t]} for t, n in report.rows.items()]
    _print_table(rows + [{"table": t, "rows": why} for t, why in report.kept.items()], ("table", "rows", "older_than"))
    if not report.dry_run:
        print(
            f"in {report.seconds:.1f} s, {report.paused_seconds:.1f} s of it paused for the writers "
            f"(duty cycle {retention.duty_cycle:g})"
        )
    return EXIT_OK


def _duration(text: str) -> Any:
    from airflow_provider_enterprise.ops.retention import parse_duration

    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _duty_cycle(text: str) -> float:
    from airflow_provider_enterprise.ops.retention import valid_duty_cycle

    try:
        return valid_duty_cycle(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


_JOB_COLUMNS = ("job_id", "dag_id", "run_id", "task_id", "job_name", "status", "attempt_count", "created_at")
_ATTEMPT_COLUMNS = ("try_number", "status", "engine", "started_at", "finished_at", "rows_in", "rows_out", "error_class")


def cmd_jobs_list(args: argparse.Namespace, settings: Settings) -> int:
    _print_rows(
        _hook(settings).list_jobs(dag_id=args.dag_id, status=args.status, limit=args.limit), _JOB_COLUMNS, args.json
    )
    return EXIT_OK


def cmd_jobs_show(args: argparse.Namespace, settings: Settings) -> int:
    hook = _hook(settings)
    if args.job_id is None:
        latest = hook.list_jobs(dag_id=args.dag_id, limit=1)
        job = hook.get_job(latest[0]["job_id"]) if latest else None
    else:
        job = hook.get_job(args.job_id)
    if job is None:
        print("no such job", file=sys.stderr)
        return EXIT_FAILURE
    job = _masked(job)
    if args.json:
        _print_json(job)
        return EXIT_OK
    for column in (*_JOB_COLUMNS, "map_index", "job_type", "priority"):
        print(f"{column:>14}: {job[column]}")
    last = job["attempts"][-1] if job["attempts"] else None
    if last:
        started, finished = last["started_at"], last["finished_at"]
        duration = f"{(finished - started).total_seconds():.2f} s" if finished else "running"
        print(f"{'engine':>14}: {last['engine']}")
        print(f"{'rows in/out':>14}: {last['rows_in']} / {last['rows_out']}")
        print(f"{'bad rows':>14}: {last.get('bad_rows') or 0}")
        print(f"{'duration':>14}: {duration}")
        print(f"{'output':>14}: {last['output_path']}")
        if last["error_message"]:
            print(f"{'error':>14}: {last['error_class']}: {last['error_message']}")
    print()
    _print_table(job["attempts"], _ATTEMPT_COLUMNS)
    if last and last.get("checks"):
        from airflow_provider_enterprise.compiler.checks import results_table

        print(f"\ndata-quality checks of try {last['try_number']}:")
        print(results_table(last["checks"]))
    return EXIT_OK


# -- submitted jobs (the generic job DAG, through Airflow's REST API) ---------------------------------


def _client(settings: Settings) -> EnterpriseClient:
    from airflow_provider_enterprise.clients.airflow_api import credentials
    from airflow_provider_enterprise.clients.jobs import EnterpriseClient

    url, token, username, password = credentials(settings)
    return EnterpriseClient(url, token=token, username=username, password=password)


def _job_exit_code(state: str) -> int:
    return {"succeeded": EXIT_OK, "failed": EXIT_FAILURE}.get(state, EXIT_PENDING)


def _print_status(status: Any, as_json: bool) -> None:
    if as_json:
        _print_json({**status.__dict__})
        return
    print(f"{'job_id':>12}: {status.job_id}")
    print(f"{'state':>12}: {status.state}")
    print(f"{'task':>12}: {status.task_state or '-'} (try {status.try_number or '-'})")
    record = _masked(status.registry)
    if record:
        last = record["attempts"][-1] if record["attempts"] else {}
        print(f"{'registry':>12}: job {record['job_id']} {record['job_name']!r}, {record['status']}")
        if last:
            print(f"{'engine':>12}: {last.get('engine')}; rows in/out {last.get('rows_in')} / {last.get('rows_out')}")
            if last.get("output_path"):
                print(f"{'output':>12}: {last['output_path']}")
            if last.get("error_class"):
                print(f"{'error':>12}: {last['error_class']}: {last['error_message']}")


def cmd_jobs_submit(args: argparse.Namespace, settings: Settings) -> int:
    import yaml

    from airflow_provider_enterprise.clients.jobs import Job
    from airflow_provider_enterprise.spec import InvalidJobSpec
    from airflow_provider_enterprise.spec.submission import SUBMISSION_FIELDS, validate_submission

    data: Any = {}
    if args.spec is not None:
        try:
            data = yaml.safe_load(args.spec.read_text())
        except (OSError, yaml.YAMLError) as err:
            print(f"cannot read {args.spec}: {err}", file=sys.stderr)
            return EXIT_USAGE
        if not isinstance(data, dict):
            print(f"{args.spec}: expected a mapping of job fields, got {type(data).__name__}", file=sys.stderr)
            return EXIT_USAGE
    data |= {name: value for name in SUBMISSION_FIELDS if (value := getattr(args, f"field_{name}")) is not None}
    try:
        validate_submission(data)  # before anything is posted
        job = Job(**data)
    except InvalidJobSpec as err:
        print(f"{args.spec or 'job'}: {err}", file=sys.stderr)
        return EXIT_USAGE
    with _client(settings) as client:
        job_id = client.submit_job(job, idempotency_key=args.idempotency_key)
        print(f"submitted job {job_id}")
        if not args.wait:
            return EXIT_OK
        status = client.wait(job_id, timeout=args.timeout, on_status=_progress(job_id))
        print()
        _print_status(status, as_json=False)
    return _job_exit_code(status.state)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not JSON: {err}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def add_job_field_options(parser: argparse.ArgumentParser) -> None:
    """
    Give ``parser`` an option per submission field (``--job-name``, ``--input-path``, ...), its type, choices and
    help from the job's fields (:func:`~airflow_provider_enterprise.spec.submission.submission_schema`); an option
    the command has already (``--timeout``) names the field ``--job-<field>``. Each option's value is
    ``args.field_<field>``, None when not given.
    """
    from airflow_provider_enterprise.spec.submission import REQUIRED_FIELDS, submission_defaults, submission_schema

    group = parser.add_argument_group("job fields (each one replaces the spec file's; see docs/jobs.md)")
    defaults = submission_defaults()
    for name, schema in submission_schema().items():
        option = f"--{name.replace('_', '-')}"
        if option in parser._option_string_actions:  # argparse's table of option strings
            option = f"--job-{name.replace('_', '-')}"
        kinds = {schema.get("type")} | {branch.get("type") for branch in schema.get("anyOf", [])}
        kind: Callable[[str], Any] = _json_object if "object" in kinds else float if "number" in kinds else str
        default = defaults[name]
        shown = (
            " (required)"
            if name in REQUIRED_FIELDS
            else ""
            if default is None
            else f" (default: {default if isinstance(default, str) else json.dumps(default)})"
        )
        group.add_argument(
            option,
            dest=f"field_{name}",
            type=kind,
            choices=schema.get("enum"),
            metavar=None if "enum" in schema else "JSON" if kind is _json_object else name.upper(),
            help=f"{schema['description']}{shown}".replace("%", "%%"),
        )


class _JobsParser(argparse.ArgumentParser):
    """
    The parser of a ``jobs`` command; ``job_fields=True`` (``jobs submit``) gives it the job-field options when
    it is used or its help shown, so that the other commands start without importing the spec's models.
    """

    def __init__(self, *args: Any, job_fields: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._job_fields_pending = job_fields

    def _with_fields(self) -> None:
        if self._job_fields_pending:
            self._job_fields_pending = False
            add_job_field_options(self)

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        self._with_fields()
        return super().parse_known_args(*args, **kwargs)

    def format_help(self) -> str:
        self._with_fields()
        return super().format_help()


def _progress(job_id: str) -> Callable[[Any], None]:
    """Show a waiting job's state: one line rewritten in place on a terminal, a line per change otherwise."""
    import time

    started = time.monotonic()
    last: list[str] = []

    def show(status: Any) -> None:
        line = f"{job_id}: {status.state} (task {status.task_state or 'not started'}, try {status.try_number or '-'})"
        if sys.stdout.isatty():
            print(f"\r{line}, {time.monotonic() - started:.0f} s   ", end="", flush=True)
        elif last != [line]:
            print(line, flush=True)
            last[:] = [line]

    return show


def cmd_jobs_status(args: argparse.Namespace, settings: Settings) -> int:
    with _client(settings) as client:
        status = client.get_job_status(args.job_id)
    _print_status(status, args.json)
    return _job_exit_code(status.state)


def cmd_jobs_cancel(args: argparse.Namespace, settings: Settings) -> int:
    with _client(settings) as client:
        if not client.cancel_job(args.job_id):
            print(f"job {args.job_id} has already ended", file=sys.stderr)
            return EXIT_FAILURE
    print(f"job {args.job_id} cancelled")
    return EXIT_OK


def cmd_jobs_logs(args: argparse.Namespace, settings: Settings) -> int:
    with _client(settings) as client:
        print(client.get_job_logs(args.job_id, try_number=args.try_number))
    return EXIT_OK


def cmd_dags_install(args: argparse.Namespace, settings: Settings) -> int:
    from airflow_provider_enterprise.operators.job_dag import DAG_FILE
    from airflow_provider_enterprise.spec.submission import JOB_DAG_ID

    target = args.folder / f"{JOB_DAG_ID}.py"
    if target.exists() and target.read_text() != DAG_FILE and not args.force:
        print(f"{target} exists and differs; use --force to replace it", file=sys.stderr)
        return EXIT_FAILURE
    args.folder.mkdir(parents=True, exist_ok=True)
    target.write_text(DAG_FILE)
    print(f"wrote {target}: the DAG {JOB_DAG_ID!r} (jobs submit, the Python client, the trigger form)")
    return EXIT_OK


# -- dead letters and circuits ----------------------------------------------------------------------------


def _queue(settings: Settings) -> DeadLetterQueue:
    from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue

    return DeadLetterQueue(_hook(settings))


_DEAD_LETTER_COLUMNS = (
    "dead_letter_id",
    "dag_id",
    "run_id",
    "task_id",
    "try_number",
    "error_class",
    "status",
    "replay_run_id",
)


def cmd_dlq_list(args: argparse.Namespace, settings: Settings) -> int:
    rows = _queue(settings).find(status=args.status, dag_id=args.dag_id, limit=args.limit)
    _print_rows(rows, _DEAD_LETTER_COLUMNS, args.json)
    return EXIT_OK


def cmd_dlq_show(args: argparse.Namespace, settings: Settings) -> int:
    _print_json(_queue(settings).get(args.dead_letter_id))
    return EXIT_OK


def cmd_dlq_replay(args: argparse.Namespace, settings: Settings) -> int:
    from airflow_provider_enterprise.clients.airflow_api import AirflowApiClient

    queue = _queue(settings)
    ids = args.dead_letter_id or [row["dead_letter_id"] for row in queue.find(status="open", limit=10_000)]
    api = AirflowApiClient(settings)
    try:
        for dead_letter_id in ids:
            result = queue.replay(dead_letter_id, api)
            verb = "triggered" if result.created else "already triggered"
            print(f"dead letter {dead_letter_id}: {verb} run {result.run_id} of {result.dag_id}")
    finally:
        api.close()
    return EXIT_OK


def cmd_dlq_discard(args: argparse.Namespace, settings: Settings) -> int:
    _queue(settings).discard(args.dead_letter_id)
    print(f"dead letter {args.dead_letter_id} discarded")
    return EXIT_OK


def cmd_dlq_purge(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace
    from datetime import timedelta

    from airflow_provider_enterprise.ops.retention import RegistryRetention, RetentionPolicy

    days = args.older_than_days if args.older_than_days is not None else settings.dead_letters.retention_days
    policy = replace(RetentionPolicy.configured(settings), dead_letters=timedelta(days=days))
    purged = RegistryRetention(_hook(settings)).purge_dead_letters(policy)
    statuses = ", ".join(policy.dead_letter_statuses)
    print(f"purged {purged} dead letters ({statuses}) older than {days:g} days")
    return EXIT_OK


def cmd_dlq_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from airflow_provider_enterprise.clients.airflow_api import AirflowApiClient
    from airflow_provider_enterprise.resilience.dead_letter import reconcile

    api = AirflowApiClient(settings)

    def read_state(dag_id: str, run_id: str, task_id: str, map_index: int) -> tuple[str, int | None] | None:
        ti = api.task_instance(dag_id, run_id, task_id, map_index)
        return None if ti is None else (ti["state"], ti.get("try_number"))

    stale = args.stale_after if args.stale_after is not None else settings.dead_letters.stale_heartbeat_seconds
    try:
        report = reconcile(_hook(settings), read_state, stale_after=stale)
    finally:
        api.close()
    print(
        f"checked {report.checked} silent attempts: {report.failed_attempts} marked failed, "
        f"{report.dead_letters} dead-lettered, {report.stopped_applications} orphaned applications stopped"
    )
    return EXIT_OK


_AUDIT_COLUMNS = (
    "audit_id",
    "finished_at",
    "triggered_by",
    "dag_id",
    "run_id",
    "task_id",
    "try_number",
    "outcome",
    "rows_in",
    "rows_out",
    "output_path",
)


_EVENT_COLUMNS = ("received_at", "stream", "message_id", "status", "job_run_id", "reason")


def cmd_events_list(args: argparse.Namespace, settings: Settings) -> int:
    from airflow_provider_enterprise.events.ledger import find_messages

    rows = find_messages(_hook(settings), stream=args.stream, status=args.status, limit=args.limit)
    _print_rows(rows, _EVENT_COLUMNS, args.json)
    return EXIT_OK


def cmd_events_show(args: argparse.Namespace, settings: Settings) -> int:
    from airflow_provider_enterprise.events.ledger import get_message

    message = get_message(_hook(settings), args.stream, args.message_id)
    if message is None:
        print(f"no message {args.message_id} of stream {args.stream} is recorded", file=sys.stderr)
        return EXIT_FAILURE
    _print_json(message)
    return EXIT_OK


def cmd_audit_list(args: argparse.Namespace, settings: Settings) -> int:
    from airflow_provider_enterprise.ops.audit import AuditTrail

    rows = AuditTrail(_hook(settings)).find(
        path=args.path, user=args.user, dag_id=args.dag_id, outcome=args.outcome, limit=args.limit
    )
    _print_rows(rows, _AUDIT_COLUMNS, args.json)
    return EXIT_OK


def cmd_circuits_list(args: argparse.Namespace, settings: Settings) -> int:
    from airflow_provider_enterprise.resilience.circuit_breaker import list_breakers

    _print_table(
        list_breakers(_hook(settings)),
        ("name", "state", "consecutive_failures", "total_failures", "total_successes", "opened_at"),
    )
    return EXIT_OK


def cmd_circuits_reset(args: argparse.Namespace, settings: Settings) -> int:
    from airflow_provider_enterprise.resilience.circuit_breaker import CircuitBreaker

    CircuitBreaker(_hook(settings), args.name).reset()
    print(f"circuit {args.name!r} closed")
    return EXIT_OK


def cmd_pools_create(args: argparse.Namespace, settings: Settings) -> int:
    from airflow_provider_enterprise.clients.airflow_api import AirflowApiClient
    from airflow_provider_enterprise.ops import placement

    cores = None if args.spark_slots else placement.spark_cluster_cores(settings)
    pools = [
        placement.local_pool(settings, workers=args.local_workers, slots=args.local_slots),
        placement.spark_pool(settings, cluster_cores=cores, slots=args.spark_slots),
    ]
    api = AirflowApiClient(settings)
    try:
        for pool in pools:
            outcome = api.ensure_pool(pool.name, pool.slots, pool.description)
            print(f"pool {pool.name}: {outcome} with {pool.slots} slots ({pool.basis})")
    finally:
        api.close()
    return EXIT_OK


# -- doctor -------------------------------------------------------------------------------------------


#: How doctor reports a check that passed, failed, or could not ask.
_DOCTOR_WORDS = {True: "ok", False: "PROBLEM", None: "unknown"}


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from airflow_provider_enterprise.ops import health

    checks: list[tuple[str, Callable[[Settings], health.Check]]] = [
        ("embedded registry", health.check_embedded),
        ("registry database", health.check_registry),
        ("spark", health.check_spark),
    ]
    print(f"configuration: ok (environment={settings.environment.value})")
    healthy = True
    for name, check in checks:
        result = check(settings)
        healthy &= result.ok is not False  # what cannot be asked is reported, not failed
        print(f"{name}: {_DOCTOR_WORDS[result.ok]} - {result.detail}")
    return EXIT_OK if healthy else EXIT_FAILURE


def cmd_generate_data(args: argparse.Namespace, settings: Settings) -> int:
    from airflow_provider_enterprise.dev.sample_data import generate_transactions

    path = generate_transactions(args.path, args.rows, seed=args.seed)
    print(f"wrote {args.rows} rows to {path}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``enterprise-orchestrator``."""
    parser = argparse.ArgumentParser(
        prog="enterprise-orchestrator",
        description="The provider's command line: the registry, jobs, dead letters, breakers and pools.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="manage the embedded development registry").add_subparsers(
        dest="db_command", required=True
    )
    start = db.add_parser("start", help="start the embedded PostgreSQL (kept running)")
    start.add_argument("--database", action="append", default=[], help="also create this database")
    start.set_defaults(func=cmd_db_start)
    db.add_parser("stop", help="stop the embedded PostgreSQL").set_defaults(func=cmd_db_stop)
    db.add_parser("status", help="is the embedded PostgreSQL running").set_defaults(func=cmd_db_status)
    uri = db.add_parser("uri", help="print a URI of the running embedded PostgreSQL")
    uri.add_argument("--database", default=embedded_db.REGISTRY_DATABASE)
    uri.add_argument("--create", action="store_true", help="create the database if missing")
    uri.add_argument("--sqlalchemy", action="store_true", help="print a SQLAlchemy URL (for Airflow)")
    uri.set_defaults(func=cmd_db_uri)

    commands.add_parser("migrate", help="apply pending registry migrations").set_defaults(func=cmd_migrate)

    registry = commands.add_parser("registry", help="the job registry's upkeep").add_subparsers(
        dest="registry_command", required=True
    )
    purge_registry = registry.add_parser(
        "purge",
        help="delete finished jobs, their attempts, dead letters, stream messages and audit events past retention",
    )
    purge_registry.add_argument(
        "--older-than",
        type=_duration,
        help="jobs, dead letters and stream messages older than this (90d, 12h) go, not the configured retention",
    )
    purge_registry.add_argument("--dry-run", action="store_true", help="print what would go, by table; delete nothing")
    purge_registry.add_argument(
        "--duty-cycle",
        type=_duty_cycle,
        help="share of the purge's time spent deleting, above 0 and at most 1 (1: no pauses between batches); "
        "default: retention.purge_duty_cycle",
    )
    purge_registry.set_defaults(func=cmd_registry_purge)

    jobs = commands.add_parser("jobs", help="submit, follow and read jobs").add_subparsers(
        dest="jobs_command", required=True, parser_class=_JobsParser
    )
    listing = jobs.add_parser("list", help="list jobs, newest first")
    listing.add_argument("--dag-id")
    listing.add_argument("--status", choices=["registered", "running", "succeeded", "failed"])
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_jobs_list)
    show = jobs.add_parser(
        "show", help="show one job, its attempts and its latest try's data-quality checks (default: the latest job)"
    )
    show.add_argument("job_id", type=int, nargs="?")
    show.add_argument("--dag-id", help="with no JOB_ID: the latest job of this DAG")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_jobs_show)
    submit = jobs.add_parser(
        "submit",
        help="run a job spec (file and/or options) as a run of the generic job DAG",
        job_fields=True,
    )
    submit.add_argument("spec", type=Path, nargs="?", help="a file of job fields (default: the options alone)")
    submit.add_argument("--wait", action="store_true", help="wait for the job to end; exit 0 succeeded, 1 failed")
    submit.add_argument("--timeout", type=float, help="with --wait: stop waiting after this many seconds (exit 3)")
    submit.add_argument("--idempotency-key", help="the same key always gives the same one run")
    submit.set_defaults(func=cmd_jobs_submit)
    status = jobs.add_parser("status", help="a submitted job's state (exit 0 succeeded, 1 failed, 3 not ended)")
    status.add_argument("job_id", help="the job id `jobs submit` printed (its DAG run id)")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_jobs_status)
    cancel = jobs.add_parser("cancel", help="stop a submitted job (its task and any Spark application)")
    cancel.add_argument("job_id")
    cancel.set_defaults(func=cmd_jobs_cancel)
    logs = jobs.add_parser("logs", help="the task log of a submitted job")
    logs.add_argument("job_id")
    logs.add_argument("--try", dest="try_number", type=int, help="default: the latest try")
    logs.set_defaults(func=cmd_jobs_logs)

    dags = commands.add_parser("dags", help="DAGs shipped with the provider").add_subparsers(
        dest="dags_command", required=True
    )
    install = dags.add_parser("install", help="write the generic job DAG into a DAGs folder")
    install.add_argument("folder", type=Path)
    install.add_argument("--force", action="store_true", help="replace a different file of the same name")
    install.set_defaults(func=cmd_dags_install)

    dlq = commands.add_parser("dlq", help="the dead-letter queue").add_subparsers(dest="dlq_command", required=True)
    dlq_list = dlq.add_parser("list", help="list dead letters, newest first")
    dlq_list.add_argument("--status", choices=["open", "replayed", "superseded", "discarded"])
    dlq_list.add_argument("--dag-id")
    dlq_list.add_argument("--limit", type=int, default=50)
    dlq_list.add_argument("--json", action="store_true")
    dlq_list.set_defaults(func=cmd_dlq_list)
    dlq_show = dlq.add_parser("show", help="one dead letter with its spec and traceback")
    dlq_show.add_argument("dead_letter_id", type=int)
    dlq_show.set_defaults(func=cmd_dlq_show)
    replay = dlq.add_parser("replay", help="rerun dead letters through Airflow's REST API (idempotent)")
    replay.add_argument("dead_letter_id", type=int, nargs="*", help="default: every open dead letter")
    replay.set_defaults(func=cmd_dlq_replay)
    discard = dlq.add_parser("discard", help="resolve an open dead letter without replaying it")
    discard.add_argument("dead_letter_id", type=int)
    discard.set_defaults(func=cmd_dlq_discard)
    purge = dlq.add_parser("purge", help="delete dead letters past retention (dead_letters.purge_statuses)")
    purge.add_argument("--older-than-days", type=float)
    purge.set_defaults(func=cmd_dlq_purge)
    reconcile = dlq.add_parser("reconcile", help="complete attempts whose task process died (via the REST API)")
    reconcile.add_argument("--stale-after", type=float, help="seconds without heartbeat (default: config)")
    reconcile.set_defaults(func=cmd_dlq_reconcile)

    events = commands.add_parser(
        "events", help="job messages read from streams: admitted, duplicates and dead letters"
    ).add_subparsers(dest="events_command", required=True)
    events_list = events.add_parser("list", help="recorded messages, newest first (--status dead_letter: the poison)")
    events_list.add_argument("--status", choices=["admitted", "duplicate", "dead_letter"])
    events_list.add_argument("--stream")
    events_list.add_argument("--limit", type=int, default=50)
    events_list.add_argument("--json", action="store_true")
    events_list.set_defaults(func=cmd_events_list)
    events_show = events.add_parser("show", help="one recorded message: its status, reason, key and job run")
    events_show.add_argument("stream")
    events_show.add_argument("message_id", help="the stream entry's id (<milliseconds>-<sequence>)")
    events_show.set_defaults(func=cmd_events_show)

    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(dest="audit_command", required=True)
    audit_list = audit.add_parser("list", help="audit events (one per finished attempt), newest first")
    audit_list.add_argument("--path", help="only jobs that read or wrote this path or below it")
    audit_list.add_argument("--user", help="only runs this user triggered ('scheduled' for the scheduler's runs)")
    audit_list.add_argument("--dag-id")
    audit_list.add_argument("--outcome", choices=["succeeded", "failed"])
    audit_list.add_argument("--limit", type=int, default=50)
    audit_list.add_argument("--json", action="store_true")
    audit_list.set_defaults(func=cmd_audit_list)

    circuits = commands.add_parser("circuits", help="circuit breakers").add_subparsers(
        dest="circuits_command", required=True
    )
    circuits.add_parser("list", help="every breaker and its state").set_defaults(func=cmd_circuits_list)
    reset = circuits.add_parser("reset", help="close a breaker by hand")
    reset.add_argument("name")
    reset.set_defaults(func=cmd_circuits_reset)

    pools = commands.add_parser("pools", help="Airflow pools per engine").add_subparsers(
        dest="pools_command", required=True
    )
    create = pools.add_parser(
        "create", help="create or resize the engines' pools (engines.<engine>.pool, default enterprise_<engine>)"
    )
    create.add_argument(
        "--local-workers", type=int, default=1, help="worker hosts serving local jobs, each with this CPU count"
    )
    create.add_argument("--local-slots", type=int, help="default: workers x CPU count / engines.local.max_workers")
    create.add_argument(
        "--spark-slots", type=int, help="default: the master's cores / engines.spark.executor_cores, else max_executors"
    )
    create.set_defaults(func=cmd_pools_create)

    commands.add_parser("doctor", help="check configuration, registry and Spark").set_defaults(func=cmd_doctor)

    generate = commands.add_parser("generate-data", help="write sample transactions as CSV")
    generate.add_argument("path", type=Path)
    generate.add_argument("--rows", type=int, default=1_000_000)
    generate.add_argument("--seed", type=int, default=42)
    generate.set_defaults(func=cmd_generate_data)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``enterprise-orchestrator``; return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except InvalidSettings as err:
        print(f"configuration: PROBLEM - {err}", file=sys.stderr)
        return EXIT_USAGE
    command: Callable[[argparse.Namespace, Settings], int] = args.func
    try:
        return command(args, settings)
    except Exception as err:
        from airflow_provider_enterprise.exceptions import EnterpriseError

        if not isinstance(err, EnterpriseError):
            raise
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
