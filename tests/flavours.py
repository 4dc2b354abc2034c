"""The InfluxDB flavours a test can run against, each as the logger's `[influx]` section sees
it: the real InfluxDB 1.6, and reproductions of 1.8 (tests/v2_proxy.py), 2.7 and Cloud
Serverless (tests/flavour_v2.py), 3 Core and 3 Enterprise (tests/flavour_v3.py) in front of
it. A reproduction is of documented behaviour, not the real server (docs/influxdb.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flavour_proxy import FlavourProxy
from flavour_v2 import ORG, OSS27, CloudServerless
from flavour_v3 import Core, Enterprise
from v2_proxy import V2Proxy

FLAVOURS = ("1.6", "1.8", "2.7", "3 Core", "3 Enterprise", "Cloud Serverless")
# Where a token may write but do nothing else (Core has admin tokens only; 1.x's non-admin
# users: tests/faults/test_least_privilege.py).
WRITE_ONLY = ("2.7", "3 Enterprise", "Cloud Serverless")


@dataclass
class Flavour:
    name: str
    url: str
    proxy: FlavourProxy | V2Proxy | None

    def influx(self, db: str, token: str | None = None, **extra: Any) -> dict[str, Any]:
        """The `[influx]` section for this flavour, writing into `db`."""
        if self.name == "1.6":
            return {"url": self.url, "database": db, **extra}
        section: dict[str, Any] = {"url": self.url, "api": "v2", "bucket": db, **extra}
        if isinstance(self.proxy, FlavourProxy):
            section["token"] = token or self.proxy.admin_token
        if isinstance(self.proxy, OSS27):
            section["org"] = ORG
        return section

    def write_only(self, db: str, ledger_rp: str = "ledger") -> str:
        """A token that may write the raw place and the ledger's, and nothing else."""
        assert isinstance(self.proxy, FlavourProxy)
        return self.proxy.token("writer", write={db, f"{db}/{ledger_rp}"})

    def prepare(self, db: str) -> None:
        """What an administrator made before the logger came: the raw bucket (2.x, Cloud;
        with its DBRP mapping on Cloud) or database (3.x)."""
        if isinstance(self.proxy, OSS27):
            bucket = self.proxy.bucket_create(db)
            if isinstance(self.proxy, CloudServerless):
                self.proxy.dbrps.append({"id": "f" * 16, "database": db, "orgID": "x",
                                         "retention_policy": "autogen", "default": True,
                                         "bucketID": bucket["id"], "virtual": False})
        elif isinstance(self.proxy, Core):
            self.proxy.create(db)

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()


def start(name: str, upstream_url: str, **options: Any) -> Flavour:
    """`name` (one of FLAVOURS) in front of the InfluxDB 1.6 at `upstream_url`."""
    if name == "1.6":
        return Flavour(name, upstream_url, None)
    maker = {"1.8": V2Proxy, "2.7": OSS27, "Cloud Serverless": CloudServerless,
             "3 Core": Core, "3 Enterprise": Enterprise}[name]
    proxy = maker(upstream_url, **options).start()
    return Flavour(name, proxy.url, proxy)
