"""The test InfluxDB server and the v2 proxy behave like the real thing they stand in for."""

from __future__ import annotations

import gzip
import time
import urllib.request

import httpx
import pytest
import urllib3
from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException
from v2_proxy import V2Proxy, map_v2_write

from logger.testbed.influxd import InfluxServer

pytestmark = pytest.mark.integration

LINE = "m,t=a f=1.5 1700000000"
ROW = {"time": 1700000000, "t": "a", "f": 1.5}


def v2_write(
    url: str, bucket: str, record: str, precision: str = "s", timeout_ms: int = 10_000, **kw
) -> None:
    with InfluxDBClient(url=url, token="x", org="-", timeout=timeout_ms, **kw) as client:
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket=bucket, record=record, write_precision=precision
        )


def test_server_listens_on_loopback_only(influxd: InfluxServer) -> None:
    assert influxd.is_running
    assert influxd.url.startswith("http://127.0.0.1:")
    assert influxd.http_port not in (8086, 8088)
    assert influxd.rpc_port not in (8086, 8088)
    config = influxd.config_path.read_text()
    assert "/var/lib/influxdb" not in config
    assert f'bind-address = "127.0.0.1:{influxd.http_port}"' in config
    assert f'bind-address = "127.0.0.1:{influxd.rpc_port}"' in config
    assert "reporting-disabled = true" in config
    with urllib.request.urlopen(influxd.url + "/ping", timeout=5) as resp:
        assert resp.status == 204
        assert resp.headers["X-Influxdb-Version"].startswith("1.")


def test_v1_write_is_read_back(influxd: InfluxServer, influx_db: str) -> None:
    resp = httpx.post(
        influxd.url + "/write",
        params={"db": influx_db, "precision": "s"},
        content=LINE,
        timeout=10,
    )
    assert resp.status_code == 204
    assert influxd.points(influx_db, "m") == [ROW]
    assert influxd.points(influx_db, "m", where="t = 'b'") == []
    assert influx_db in influxd.databases()


def test_query_errors_raise(influxd: InfluxServer, influx_db: str) -> None:
    with pytest.raises(Exception, match="error parsing query"):
        influxd.query("SELEKT nonsense", db=influx_db)


def test_v2_write_through_proxy(influxd: InfluxServer, influx_db: str, v2_proxy: V2Proxy) -> None:
    v2_write(v2_proxy.url, influx_db, LINE)
    assert influxd.points(influx_db, "m") == [ROW]
    assert v2_proxy.requests["/api/v2/write"] == 1


@pytest.mark.parametrize(
    ("precision", "stamp"),
    [
        ("s", 1700000001),
        ("ms", 1700000001000),
        ("us", 1700000001000000),
        ("ns", 1700000001 * 10**9),
    ],
)
def test_v2_precisions_are_mapped(
    influxd: InfluxServer, influx_db: str, v2_proxy: V2Proxy, precision: str, stamp: int
) -> None:
    v2_write(v2_proxy.url, influx_db, f"p,t=x f=2 {stamp}", precision=precision)
    assert influxd.points(influx_db, "p") == [{"time": 1700000001, "t": "x", "f": 2.0}]


def test_v2_bucket_with_retention_policy(
    influxd: InfluxServer, influx_db: str, v2_proxy: V2Proxy
) -> None:
    influxd.query(f'CREATE RETENTION POLICY "short" ON "{influx_db}" DURATION 0s REPLICATION 1')
    v2_write(v2_proxy.url, f"{influx_db}/short", LINE)
    answer = influxd.query('SELECT * FROM "short"."m"', db=influx_db)
    assert answer["results"][0]["series"][0]["values"] == [[1700000000, 1.5, "a"]]
    assert influxd.points(influx_db, "m") == []  # not in the default RP


def test_v2_gzip_and_errors_pass_through(
    influxd: InfluxServer, influx_db: str, v2_proxy: V2Proxy
) -> None:
    v2_write(v2_proxy.url, influx_db, LINE, enable_gzip=True)
    assert influxd.points(influx_db, "m") == [ROW]

    # Raw gzip body, keep-alive client, several requests on one connection.
    with httpx.Client(base_url=v2_proxy.url, timeout=10) as client:
        for i in range(3):
            resp = client.post(
                "/api/v2/write",
                params={"org": "-", "bucket": influx_db, "precision": "s"},
                content=gzip.compress(f"k f={i}.0 {1700000000 + i}".encode()),
                headers={"Content-Encoding": "gzip", "Authorization": "Token x"},
            )
            assert resp.status_code == 204, resp.text
        # A type conflict (integer into a float field) is InfluxDB's own 400, passed through.
        resp = client.post(
            "/api/v2/write",
            params={"org": "-", "bucket": influx_db, "precision": "s"},
            content="m,t=a f=1i 1700000005",
        )
        assert resp.status_code == 400
        assert "field type conflict" in resp.json()["error"]
        # Other paths go through verbatim.
        assert client.get("/ping").status_code == 204
        resp = client.get("/query", params={"q": "SHOW DATABASES"})
        assert influx_db in str(resp.json())
    assert [r["f"] for r in influxd.points(influx_db, "k")] == [0.0, 1.0, 2.0]
    assert v2_proxy.requests["/api/v2/write"] == 5
    assert v2_proxy.requests["/ping"] == 1
    assert v2_proxy.requests["/query"] == 1


def test_map_v2_write_query() -> None:
    assert map_v2_write("org=o&bucket=db%2Frp&precision=us") == "db=db&rp=rp&precision=u"
    assert map_v2_write("bucket=db&precision=ns&consistency=one") == (
        "db=db&precision=n&consistency=one"
    )


def test_restart_keeps_data_and_port(private_influxd: InfluxServer) -> None:
    srv = private_influxd
    srv.create_database("keep")
    srv.write("keep", LINE)
    url = srv.url
    srv.stop()
    assert not srv.is_running
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/ping", timeout=5)
    srv.start()
    assert srv.url == url
    assert srv.points("keep", "m") == [ROW]
    srv.kill()  # a crash (SIGKILL) must not lose acknowledged writes either
    srv.restart()
    assert srv.url == url
    assert srv.points("keep", "m") == [ROW]


def test_write_while_stopped_fails_fast(
    private_influxd: InfluxServer, private_v2_proxy: V2Proxy
) -> None:
    srv, proxy = private_influxd, private_v2_proxy
    srv.create_database("down")
    srv.stop()

    began = time.monotonic()
    with pytest.raises((ApiException, urllib3.exceptions.HTTPError, OSError)) as info:
        v2_write(proxy.url, "down", LINE, timeout_ms=5_000)
    assert time.monotonic() - began < 15
    if isinstance(info.value, ApiException):
        assert info.value.status is not None and info.value.status >= 500
    assert proxy.upstream_failures >= 1

    # The v1 path sees a refused connection.
    with pytest.raises(httpx.ConnectError):
        httpx.post(srv.url + "/write", params={"db": "down"}, content=LINE, timeout=5)

    # A proxy that behaves like a dead server: the connection drops, no answer.
    with V2Proxy(srv.url, upstream_down="close") as dead, pytest.raises(OSError):
        urllib.request.urlopen(
            urllib.request.Request(
                dead.url + "/api/v2/write?org=-&bucket=down&precision=s",
                data=LINE.encode(),
                method="POST",
            ),
            timeout=5,
        )

    srv.start()  # back on the same URL: the same proxy works again
    v2_write(proxy.url, "down", LINE)
    assert srv.points("down", "m") == [ROW]
