"""
TPC-H Q1 from a loopback S3 endpoint against local disk: where the time of an object-store job goes.

    .venv/bin/python bench/object_storage.py --scale 1 --runs 3
    .venv/bin/python bench/object_storage.py --smoke

Starts moto's S3 server (``moto_server``) in a process of its own on loopback, uploads lineitem (generated as in
``bench/tpch_q1.py``), then runs, interleaved, each in a fresh child process: the local engine on the local file
(``disk``: local input, local output), and the local engine on ``s3://`` (input and output in the endpoint, the
filesystem s3fs builds). The ``s3`` child also times its steps: listing and copying the input
(``download_inputs``), and publishing a copy of the output with the manifest commit (``publish``); the rest of
its time is the job itself. There is no target: the endpoint (one Python process) is the bottleneck, and the
table says how much of the time is transfer.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tpch_q1 import Q1_LOGIC, generate  # noqa: E402

ACCESS = {"key": "bench", "secret": "bench-secret"}
BUCKET = "bench-lineitem"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_endpoint() -> tuple[subprocess.Popen, str]:
    """Start ``moto_server`` on a free loopback port; return the process and its URL."""
    port = _free_port()
    server = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    process = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto_server did not start within 30 s")


def _filesystem(endpoint: str):
    import s3fs

    return s3fs.S3FileSystem(**ACCESS, endpoint_url=endpoint, skip_instance_cache=True)


def _spec(input_path: str, output_path: str):
    from airflow_provider_enterprise.spec import validate_job_spec

    return validate_job_spec(
        {"job_name": "tpch_q1", "input_path": input_path, "output_path": output_path, "processing_logic": Q1_LOGIC}
    )


def _publish_seconds(fs, out: str) -> float:
    """Seconds the manifest commit takes to publish the output at ``out`` once more (from a local copy)."""
    from airflow_provider_enterprise.output.object_store import staged_object_output

    with tempfile.TemporaryDirectory() as local:
        fs.get(f"{out}/", local, recursive=True)
        started = time.perf_counter()
        with staged_object_output(fs, f"{out}-again") as staging:
            for path in Path(local).rglob("*.parquet"):
                shutil.copy(path, staging / path.name)
        return time.perf_counter() - started


def child(candidate: str, source: str, out: str, endpoint: str) -> None:
    """Run one candidate once; print its timings as JSON (called in a fresh process)."""
    from airflow_provider_enterprise.engines.local import LocalEngine
    from airflow_provider_enterprise.engines.object_inputs import download_inputs

    record: dict = {"candidate": candidate}
    engine = LocalEngine()
    if candidate == "s3":
        fs = _filesystem(endpoint)
        engine = LocalEngine(filesystems={"s3": fs})
        with tempfile.TemporaryDirectory() as copies:  # the copy alone, as the engine makes it
            started = time.perf_counter()
            download_inputs(_spec(source, out), {"s3": fs}, Path(copies))
            record["download_s"] = time.perf_counter() - started
    started = time.perf_counter()
    record["rows"] = engine.run(_spec(source, out)).rows_in
    record["seconds"] = time.perf_counter() - started
    if candidate == "s3":
        record["publish_s"] = _publish_seconds(fs, out)
    print(json.dumps(record))


def measure(candidate: str, source: str, out: str, endpoint: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", candidate, source, out, endpoint], capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"{candidate} failed:\n{(done.stdout + done.stderr)[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"], choices=["csv", "parquet"])
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "ape-tpch")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--smoke", action="store_true", help="scale 0.01, one run, Parquet only")
    args = parser.parse_args(argv)
    if args.smoke:
        args.scale, args.runs, args.formats = 0.01, 1, ["parquet"]
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    server, endpoint = start_endpoint()
    results: dict = {"scale": args.scale, "runs": args.runs, "formats": {}}
    try:
        fs = _filesystem(endpoint)
        fs.mkdir(BUCKET)
        with tempfile.TemporaryDirectory(prefix="ape-bench-s3-") as scratch:
            for file_format in args.formats:
                path = generate(args.scale, args.data_dir, file_format)
                key = f"{BUCKET}/{file_format}/{path.name}"
                started = time.perf_counter()
                fs.put_file(str(path), key)
                upload = time.perf_counter() - started
                samples: dict[str, list[dict]] = {"disk": [], "s3": []}
                for run in range(args.runs):
                    samples["disk"].append(measure("disk", str(path), f"{scratch}/disk-{run}", endpoint))
                    samples["s3"].append(measure("s3", f"s3://{key}", f"s3://{BUCKET}/out-{run}", endpoint))
                row = {
                    "bytes": path.stat().st_size,
                    "rows": samples["disk"][0]["rows"],
                    "upload_s": round(upload, 3),
                    **{
                        f"{name}_median_s": round(statistics.median(s["seconds"] for s in runs), 3)
                        for name, runs in samples.items()
                    },
                    "download_median_s": round(statistics.median(s["download_s"] for s in samples["s3"]), 3),
                    "publish_median_s": round(statistics.median(s["publish_s"] for s in samples["s3"]), 3),
                }
                row["s3_over_disk"] = round(row["s3_median_s"] / row["disk_median_s"], 3)
                row["transfer_share"] = round(row["download_median_s"] / row["s3_median_s"], 3)
                results["formats"][file_format] = row
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"TPC-H Q1 from a loopback S3 endpoint (moto), scale {args.scale:g}, {args.runs} interleaved runs")
    print(f"{'format':8} {'MB':>8} {'disk s':>8} {'s3 s':>8} {'s3/disk':>8} {'copy in s':>10} {'publish s':>10}")
    for file_format, row in results["formats"].items():
        print(
            f"{file_format:8} {row['bytes'] / 1e6:8.1f} {row['disk_median_s']:8.3f} {row['s3_median_s']:8.3f} "
            f"{row['s3_over_disk']:8.3f} {row['download_median_s']:10.3f} {row['publish_median_s']:10.3f}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
    else:
        main()
