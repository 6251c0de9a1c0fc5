"""
StatsD on the test's side: a UDP socket that collects datagrams, a parser for InfluxDB-tagged lines, and the
glob rules of ``deploy/statsd-mapping.yml`` applied the way statsd_exporter applies them (first match wins,
``*`` is one dot-free component, ``$n`` its n-th capture, tags become labels). No statsd_exporter binary can
be installed here.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from support.env import REPO

MAPPING = REPO / "deploy" / "statsd-mapping.yml"


@dataclass(frozen=True)
class Datagram:
    name: str
    tags: dict[str, str]
    value: str
    kind: str  # c, g, ms


def parse(line: str) -> Datagram:
    """Parse ``name,tag=value:1|c`` (InfluxDB-style tags, as Airflow sends them)."""
    head, _, rest = line.partition(":")
    value, _, kind = rest.partition("|")
    name, *pairs = head.split(",")
    return Datagram(name, dict(pair.split("=", 1) for pair in pairs), value, kind.split("|")[0])


@dataclass
class UdpSink:
    """A StatsD server's socket on loopback that keeps every line it receives."""

    lines: list[str] = field(default_factory=list)
    _socket: socket.socket | None = None

    @property
    def port(self) -> int:
        return self._socket.getsockname()[1]

    def start(self) -> UdpSink:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._running = True
        threading.Thread(target=self._receive, daemon=True).start()
        return self

    def _receive(self) -> None:
        while self._running:
            try:
                data = self._socket.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.lines.extend(data.decode().splitlines())

    def datagrams(self, prefix: str = "") -> list[Datagram]:
        return [parse(line) for line in list(self.lines) if line.startswith(prefix)]

    def stop(self) -> None:
        self._running = False
        self._socket.close()


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern
    name: str
    labels: dict[str, str]


def load_rules(path: Path = MAPPING) -> list[Rule]:
    rules = []
    for mapping in yaml.safe_load(path.read_text())["mappings"]:
        glob = "^" + re.escape(mapping["match"]).replace(r"\*", "([^.]*)") + "$"
        rules.append(Rule(re.compile(glob), mapping["name"], mapping.get("labels", {})))
    return rules


def prometheus(datagram: Datagram, rules: list[Rule]) -> tuple[str, dict[str, str]] | None:
    """Return the Prometheus name and labels statsd_exporter gives a datagram, or None when no rule matches."""
    for rule in rules:
        match = rule.pattern.match(datagram.name)
        if match:
            labels = {k: match.expand(v.replace("$", "\\")) for k, v in rule.labels.items()}
            return rule.name, {**datagram.tags, **labels}
    return None


@contextmanager
def airflow_statsd_in_process() -> Iterator[UdpSink]:
    """Airflow's StatsD backend in this process, tags on, sending to a UDP socket owned by the caller."""
    import statsd
    from airflow.sdk._shared.observability.metrics import stats as stats_module
    from airflow.sdk._shared.observability.metrics.statsd_logger import SafeStatsdLogger

    sink = UdpSink().start()
    previous = stats_module._factory, stats_module._export_legacy_names
    client = statsd.StatsClient("127.0.0.1", sink.port, prefix="airflow")
    stats_module.initialize(
        factory=lambda: SafeStatsdLogger(client, influxdb_tags_enabled=True, statsd_influxdb_enabled=True),
        export_legacy_names=False,
    )
    try:
        yield sink
    finally:
        stats_module.initialize(factory=previous[0] or stats_module.NoStatsLogger, export_legacy_names=previous[1])
        sink.stop()
