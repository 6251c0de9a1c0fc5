"""
A corpus of hostile expressions (every one must be refused) and valid ones (every one must be accepted).

Hostile expressions are grouped by category, each with at least 10 entries; several appear again nested
inside allowed constructs, since the allow-list must hold for every node, not only the root.
"""

from __future__ import annotations

DUCKDB_TABLE_FUNCTIONS = [
    "query('SELECT * FROM jobs') IS NOT NULL",
    "read_csv('/etc/passwd') IS NOT NULL",
    "read_csv_auto('/etc/passwd') IS NOT NULL",
    "read_parquet('/data/secret.parquet') IS NOT NULL",
    "read_json('/root/.aws/credentials') IS NOT NULL",
    "read_json_auto('x.json') IS NOT NULL",
    "read_ndjson('x.json') IS NOT NULL",
    "read_text('/etc/shadow') IS NOT NULL",
    "read_blob('/etc/shadow') IS NOT NULL",
    "glob('/home/*') IS NOT NULL",
    "sniff_csv('/etc/passwd') IS NOT NULL",
    "query_table('jobs') IS NOT NULL",
    "parquet_scan('/data/x.parquet') IS NOT NULL",
    "parquet_metadata('/data/x.parquet') IS NOT NULL",
    "duckdb_settings() IS NOT NULL",
    "duckdb_secrets() IS NOT NULL",
    "getenv('AWS_SECRET_ACCESS_KEY') = 'x'",
    "current_setting('s3_secret_access_key') = 'x'",
    "pragma_version() IS NOT NULL",
    "iceberg_scan('s3://bucket/t') IS NOT NULL",
]

SPARK_REFLECTION = [
    "reflect('java.lang.Runtime', 'getRuntime') IS NOT NULL",
    "java_method('java.lang.System', 'getenv', 'HOME') = 'x'",
    "try_reflect('java.lang.Runtime', 'getRuntime') IS NOT NULL",
    "REFLECT('java.util.UUID', 'randomUUID') = 'x'",
    "Java_Method('java.lang.System', 'exit', 0) = 1",
    "coalesce(reflect('java.lang.Thread', 'sleep', 100000), 'x') = 'x'",
    "upper(java_method('java.lang.System', 'getProperty', 'user.home')) = 'X'",
    "a = try_reflect('java.lang.System', 'getenv', 'SPARK_SECRET')",
    "CASE WHEN reflect('java.lang.Runtime', 'exec', 'id') IS NULL THEN 1 END = 1",
    "length(reflect('java.net.InetAddress', 'getLocalHost')) > 0",
    "java_method('java.nio.file.Files', 'readAllLines', '/etc/passwd') IS NULL",
]

STATEMENTS = [
    "ATTACH 'evil.db'",
    "ATTACH '/data/registry.db' AS reg",
    "DETACH reg",
    "COPY jobs TO '/tmp/out.csv'",
    "COPY (SELECT 1) TO '/tmp/x'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL httpfs",
    "PRAGMA version",
    "PRAGMA enable_profiling",
    "SET memory_limit = '1GB'",
    "SET spark.sql.ansi.enabled = false",
    "RESET ALL",
    "CALL pragma_version()",
    "EXPORT DATABASE '/tmp/dump'",
    "USE other_db",
    "SUMMARIZE jobs",
    "VACUUM",
    "ADD JAR /tmp/evil.jar",
    "CREATE FUNCTION f AS 'com.evil.UDF'",
]

DDL_DML = [
    "DROP TABLE jobs",
    "DELETE FROM jobs",
    "INSERT INTO jobs VALUES (1)",
    "UPDATE jobs SET status = 'x'",
    "CREATE TABLE t (a INT)",
    "ALTER TABLE jobs ADD COLUMN x INT",
    "TRUNCATE TABLE jobs",
    "GRANT ALL ON jobs TO public",
    "CREATE VIEW v AS SELECT 1",
    "SELECT * FROM jobs",
    "SELECT 1",
    "WITH x AS (SELECT 1) SELECT * FROM x",
]

STACKED = [
    "amount > 100; DROP TABLE jobs",
    "1 = 1; DELETE FROM jobs",
    "status = 'a'; ATTACH 'x.db'",
    "a = 1; SELECT * FROM read_csv('/etc/passwd')",
    "a > 0;;",
    "a > 0; ",
    "x = 1; PRAGMA version",
    "x = 1; SET threads = 1",
    "x = 1; COPY jobs TO '/tmp/j'",
    "x = 1; INSTALL httpfs; LOAD httpfs",
    "b IS NULL; UPDATE jobs SET status = 'x'",
]

COMMENTS = [
    "a = 1 -- AND b = 2",
    "a = 1 /* hidden */",
    "a /* x */ = 1",
    "/* leading */ a = 1",
    "-- comment\na = 1",
    "a = 1 --",
    "status = 'x' /* ' OR 1=1 -- */",
    "a = 1 /*+ BROADCAST(t) */",
    "coalesce(a, 1) /* sneaky */ > 0",
    "a IN (1, 2 /* 3 */)",
    "a = /* */ 1",
]

SUBQUERIES = [
    "a IN (SELECT id FROM jobs)",
    "EXISTS (SELECT 1 FROM jobs)",
    "(SELECT max(id) FROM jobs) > 1",
    "a = (SELECT 1)",
    "a > ALL (SELECT 1)",
    "a = ANY (SELECT id FROM jobs)",
    "coalesce((SELECT 1), 0) = 1",
    "NOT EXISTS (SELECT * FROM read_csv('/etc/passwd'))",
    "a IN (WITH x AS (SELECT 1) SELECT * FROM x)",
    "CASE WHEN (SELECT count(*) FROM jobs) > 0 THEN 1 END = 1",
    "a IN (SELECT * FROM (SELECT 1))",
]

UNICODE_QUOTES = [
    "status = \u2018active\u2019",
    "status = \u201cactive\u201d",
    "status = \uff07active\uff07",
    "status = \u2032active\u2032",
    "status = \u02bcactive\u02bc",
    "`status\u2018` = 'x'",
    "\u201cstatus\u201d = 'x'",
    "status = \u2018a\u2019 OR 1 = 1",
    "a = \u00b4x\u00b4",
    "a = \u2035x\u2035",
    "st\u0430tus = 'x'",  # Cyrillic a in a column name
]

FUNCTIONS = [
    "my_udf(a) = 1",
    "system('id') = 0",
    "exec('rm -rf /') = 0",
    "load_extension('evil') = 1",
    "pg_read_file('/etc/passwd') = 'x'",
    "shell('id') = 'x'",
    "eval('1') = 1",
    "transform(arr, x -> x + 1) IS NULL",
    "assert_true(a > 1) IS NULL",
    "raise_error('x') IS NULL",
    "input_file_name() = 'x'",
    "current_user() = 'root'",
    "uuid() = 'x'",
    "rand() > 0.5",
]

AGGREGATES_IN_SCALAR = [
    "sum(a) > 1",
    "count(*) > 0",
    "avg(x) = 1",
    "max(a) = a",
    "row_number() OVER (ORDER BY a) = 1",
    "min(a) OVER () = 1",
    "percentile(a, 0.5) > 1",
    "stddev(a) > 0",
    "count(DISTINCT a) > 1",
    "median(a) > 0",
]


def _nested(expressions: list[str]) -> list[str]:
    """The same hostile constructs nested inside allowed ones."""
    nested = []
    for text in expressions:
        core = text.removesuffix(" IS NOT NULL")
        nested.append(f"a = 1 AND coalesce({core}, NULL) IS NULL")
    return nested


HOSTILE = {
    "duckdb table functions and readers": DUCKDB_TABLE_FUNCTIONS + _nested(DUCKDB_TABLE_FUNCTIONS),
    "spark reflection": SPARK_REFLECTION + _nested(SPARK_REFLECTION),
    "attach, copy, install, load, pragma, set": STATEMENTS,
    "ddl and dml": DDL_DML,
    "stacked statements": STACKED + [f"status = 'a'; {statement}" for statement in STATEMENTS],
    "comments": COMMENTS,
    "subqueries": SUBQUERIES + _nested(SUBQUERIES),
    "unicode quotes": UNICODE_QUOTES,
    "functions outside the allow-list": FUNCTIONS + _nested(FUNCTIONS[:8]),
    "aggregates and windows outside a groupby": AGGREGATES_IN_SCALAR,
}

_COLUMNS = ["amount", "status", "qty", "price", "created_at", "category", "score"]
_VALID_BASE = [
    "status = 'active'",
    'status = "active"',
    "amount > 100",
    "amount >= 10.5 AND amount < 99",
    "qty BETWEEN 1 AND 10",
    "status IN ('a', 'b', 'c')",
    "status NOT IN ('x')",
    "category LIKE 'book%'",
    "category ILIKE '%Book%'",
    "status IS NULL",
    "status IS NOT NULL",
    "NOT (qty > 3)",
    "amount * qty > 1000",
    "amount / qty > 2",
    "amount - price <= 0",
    "qty % 2 = 0",
    "-amount < 0",
    "coalesce(amount, 0) > 0",
    "nullif(qty, 0) IS NULL",
    "greatest(amount, price) > 10",
    "least(amount, price) < 10",
    "abs(amount - price) < 1",
    "round(amount, 2) = 10.25",
    "floor(amount) = ceil(amount)",
    "sqrt(score) > 2",
    "pow(score, 2) > 4",
    "ln(score) > 0",
    "exp(score) > 1",
    "lower(status) = 'active'",
    "upper(trim(category)) = 'BOOKS'",
    "length(category) > 3",
    "substring(category, 1, 3) = 'boo'",
    "concat(status, '-', category) = 'a-b'",
    "status || category = 'ab'",
    "year(created_at) = 2026",
    "month(created_at) = 11",
    "day(created_at) < 15",
    "to_date(created_at) = '2026-11-28'",
    "date_trunc('month', created_at) = '2026-11-01'",
    "created_at >= current_date()",
    "created_at < current_timestamp()",
    "cast(qty AS DOUBLE) > 1.5",
    "CAST(amount AS INT) = 3",
    "try_cast(status AS INT) IS NULL",
    "CASE WHEN amount > 100 THEN 'big' ELSE 'small' END = 'big'",
    "if(amount > 100, 1, 0) = 1",
    "status = 'it''s'",
    "status = 'a;b -- not a comment'",
    "status = '/* not a comment */'",
    "status = 'O\u2019Brien'",
    "status = 'DROP TABLE jobs'",
    "status = 'SELECT 1'",
    "amount > 1e3",
    "TRUE",
    "amount IS NOT NULL AND (status = 'a' OR status = 'b')",
    "`select` = 1",
    "`order` > 2",
    "try_divide(amount, qty) > 1",
    "status RLIKE '^a.*'",
    "datediff(created_at, '2026-01-01') > 30",
    "date_add(created_at, 1) > current_date()",
    "sign(amount) = 1",
    "left(category, 2) = 'bo'",
    "right(category, 2) = 'ks'",
    "startswith(category, 'bo')",
    "replace(category, 'a', 'b') = 'b'",
    "quarter(created_at) = 4",
    "hour(created_at) = 12",
]
_VALID_AGGREGATES = [
    "count(*)",
    "count(amount)",
    "count(DISTINCT status)",
    "sum(amount)",
    "avg(amount)",
    "min(created_at)",
    "max(category)",
    "stddev(score)",
    "stddev_samp(score)",
    "stddev_pop(score)",
    "variance(score)",
    "median(amount)",
    "percentile(amount, 0.9)",
    "percentile_approx(amount, 0.5)",
    "approx_percentile(amount, 0.99)",
    "count_if(amount > 10)",
    "sum(amount * qty)",
    "sum(amount) / count(*)",
    "round(avg(score), 2)",
    "max(amount) - min(amount)",
    "approx_count_distinct(status)",
]

VALID_SCALAR = _VALID_BASE + [f"{column} IS NOT NULL OR {column} = 1" for column in _COLUMNS]
VALID_AGGREGATE = _VALID_AGGREGATES + [f"sum({column}) > 0" for column in ("amount", "qty", "price", "score")]
