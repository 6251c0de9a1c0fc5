"""
The S3 store of the tests: moto's standalone server on loopback, a real HTTP endpoint speaking the S3 protocol.

One server serves the test session. :meth:`S3Endpoint.connection_env` gives the Airflow connection (conn type
``aws``, ``endpoint_url`` in its extras) as an ``AIRFLOW_CONN_*`` variable, the way a deployment would name it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

#: The access key pair of the endpoint (moto accepts any); the secret is grepped for in the leak tests.
ACCESS_KEY = "enterprise-test-access"
SECRET_KEY = "enterprise-test-secret-7f3a9c"
REGION = "us-east-1"


@dataclass
class S3Endpoint:
    """A running moto server."""

    url: str
    _server: object

    @classmethod
    def start(cls) -> S3Endpoint:
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        return cls(f"http://{host}:{port}", server)

    def stop(self) -> None:
        self._server.stop()

    def connection(self, **extra: str) -> dict:
        """The Airflow connection (as JSON data) of this endpoint."""
        return {
            "conn_type": "aws",
            "login": ACCESS_KEY,
            "password": SECRET_KEY,
            "extra": {"endpoint_url": self.url, "region_name": REGION, **extra},
        }

    def connection_env(self, conn_id: str = "aws_default") -> dict[str, str]:
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(self.connection())}

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def filesystem(self):
        """An s3fs filesystem on this endpoint (what Airflow's object storage builds from the connection)."""
        import s3fs

        return s3fs.S3FileSystem(key=ACCESS_KEY, secret=SECRET_KEY, endpoint_url=self.url, skip_instance_cache=True)

    def new_bucket(self) -> str:
        """Create an empty bucket with a fresh name; return the name."""
        name = f"test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name
