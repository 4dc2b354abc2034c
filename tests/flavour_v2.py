"""A reproduction of InfluxDB 2.7 OSS and of InfluxDB Cloud Serverless in front of the real
InfluxDB 1.6.

NOT the real servers (none can be installed here: docs/influxdb.md). What they answer comes
from InfluxData's source (the 2.7 branch of influxdata/influxdb), documentation and issues:

InfluxDB 2.7:
- `/ping`: 204 with `X-Influxdb-Build: OSS`, `X-Influxdb-Version: v2.7.11`, no token needed
  (http/handler.go `buildHeader`, http/legacy/ping_handler.go); `/health`: 200 JSON with
  `"status": "pass"` and the version (http/health.go).
- Buckets: `/api/v2/buckets` lists only the buckets the token may read (authorizer/bucket.go
  `AuthorizeFindBuckets`), creating one needs write on the org's buckets, otherwise 401
  `write:orgs/ID/buckets is unauthorized` (authorizer `AuthorizeCreate`, kit/transport/http
  error codes); `/api/v2/orgs` lists only orgs the token may read (influxdata/influxdb#23171).
- `/api/v2/write`: a missing bucket is 404 `bucket "X" not found`, no write right 403
  `insufficient permissions for write` (influxdata/influxdb#17942).
- InfluxQL over `/query` reads a bucket through a DBRP mapping; every bucket has a virtual one
  (`db/rp` from a name with a `/`, else `db/autogen`, docs: v2 api-guide influxdb-1x/dbrp),
  listed by `/api/v2/dbrps`. A token that may not read the bucket gets `database not found:
  X` in an HTTP 200 result (cmd/influxd/launcher/query_test.go, PR #23148). `CREATE
  DATABASE`, `CREATE`/`ALTER RETENTION POLICY`, `DROP SERIES` are `not implemented: ...`
  (v1/coordinator/statement_executor.go); `DELETE` needs write on the database's default
  mapping, else `insufficient permissions` (same file, PR #23219).
- `/api/v2/delete`: JSON `start`, `stop`, `predicate` with `AND` and `=` only, no `OR`, `!=` or
  regular expressions (docs: reference/syntax/delete-predicate).

InfluxDB Cloud Serverless (what differs):
- `/ping`: 204 with `X-Influxdb-Build: cloud2` (iox_v1_query_api/src/handler.rs `ping`).
- No virtual mappings: InfluxQL reads a bucket only once a DBRP mapping was created (docs:
  cloud-serverless query-data/influxql/dbrp); the v1 query API is InfluxDB 3's engine, so
  `DELETE` is "This feature is not implemented", and a token that may not read is a bare 401.
- No deletes: `/api/v2/delete` is refused (docs: cloud-serverless write-data/delete-data "does
  not support deleting data"; the exact answer is not documented, 501 here).
- A tag and a field of one name are refused, as on InfluxDB 3.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime

from flavour_proxy import ALL, Answer, FlavourProxy, Request, as_json, line_heads, sources
from flavour_proxy import statement_error as error

ORG, ORG_ID = "jullix-org", "0a1b2c3d4e5f6a7b"
_ids = itertools.count(0x1000000000000000)


def _new_id() -> str:
    return f"{next(_ids):016x}"


class OSS27(FlavourProxy):
    name = "2.7"
    build, version = "OSS", "v2.7.11"
    virtual_dbrps = True

    def __init__(self, upstream_url: str) -> None:
        super().__init__(upstream_url)
        self.buckets: dict[str, dict] = {}  # name -> {"id", "retention_s"}
        self.dbrps: list[dict] = []  # explicit mappings

    def bucket_create(self, name: str, retention_s: int = 0) -> dict:
        with self.lock:
            if name not in self.buckets:
                self.buckets[name] = {"id": _new_id(), "retention_s": retention_s}
        db, _, rp = name.partition("/")
        self.ensure_upstream(db, rp or "autogen", retention_s)
        return self.buckets[name]

    def _bucket_json(self, name: str) -> dict:
        bucket = self.buckets[name]
        return {"id": bucket["id"], "orgID": ORG_ID, "name": name, "type": "user",
                "retentionRules": [{"type": "expire", "everySeconds": bucket["retention_s"],
                                    "shardGroupDurationSeconds": 0}],
                "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
                "links": {"self": f"/api/v2/buckets/{bucket['id']}",
                          "org": f"/api/v2/orgs/{ORG_ID}"},
                "labels": []}

    def mappings(self) -> list[dict]:
        """Explicit mappings, and (2.7) a virtual one per bucket that has none."""
        found = list(self.dbrps)
        if self.virtual_dbrps:
            mapped = {m["bucketID"] for m in found}
            for name, bucket in self.buckets.items():
                if bucket["id"] not in mapped:
                    db, _, rp = name.partition("/")
                    found.append({"id": bucket["id"], "database": db, "orgID": ORG_ID,
                                  "retention_policy": rp or "autogen", "default": not rp,
                                  "bucketID": bucket["id"], "virtual": True})
        return found

    def bucket_of(self, db: str, rp: str | None) -> str | None:
        for m in self.mappings():
            if m["database"] == db and (m["retention_policy"] == rp or (rp is None and
                                                                        m["default"])):
                return next(n for n, b in self.buckets.items() if b["id"] == m["bucketID"])
        return None

    # -- the routes ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Answer:
        path = request.path
        if path == "/ping":
            return Answer(204, b"", [("X-Influxdb-Build", self.build),
                                     ("X-Influxdb-Version", self.version)])
        if path == "/health":
            return as_json(200, {"name": "influxdb", "message": "ready for queries and writes",
                                 "status": "pass", "checks": [], "version": self.version})
        grant = self.grant(request)
        if grant is None:
            return as_json(401, {"code": "unauthorized", "message": "unauthorized access"})
        if path == "/api/v2/orgs":
            orgs = [{"id": ORG_ID, "name": ORG}] if grant.admin else []
            return as_json(200, {"orgs": orgs})
        if path.startswith("/api/v2/buckets"):
            return self.buckets_api(request, grant)
        if path == "/api/v2/dbrps":
            return self.dbrps_api(request, grant)
        if path == "/api/v2/write":
            return self.write(request, grant)
        if path == "/api/v2/delete":
            return self.delete(request, grant)
        if path == "/query":
            return self.query(request, grant)
        return as_json(404, {"code": "not found", "message": "path not found"})

    def buckets_api(self, request: Request, grant: object) -> Answer:
        if request.method == "GET":
            wanted = request.params.get("name")
            names = [n for n in sorted(self.buckets) if grant.may("read", n)
                     and (wanted is None or n == wanted)]
            return as_json(200, {"buckets": [self._bucket_json(n) for n in names],
                                 "links": {"self": "/api/v2/buckets"}})
        if not grant.admin:
            return as_json(401, {"code": "unauthorized",
                                 "message": f"write:orgs/{ORG_ID}/buckets is unauthorized"})
        body = request.json() or {}
        rules = body.get("retentionRules") or [{}]
        retention_s = int(rules[0].get("everySeconds") or 0)
        if request.method == "POST":
            name = body.get("name", "")
            if name in self.buckets:
                return as_json(422, {"code": "conflict",
                                     "message": f"bucket with name {name} already exists"})
            return as_json(201, self._bucket_json(self.bucket_create(name, retention_s)
                                                  and name))
        bucket_id = request.path.rsplit("/", 1)[-1]
        name = next((n for n, b in self.buckets.items() if b["id"] == bucket_id), None)
        if name is None:
            return as_json(404, {"code": "not found", "message": "bucket not found"})
        self.buckets[name]["retention_s"] = retention_s
        db, _, rp = name.partition("/")
        self.ensure_upstream(db, rp or "autogen", retention_s)
        return as_json(200, self._bucket_json(name))

    def dbrps_api(self, request: Request, grant: object) -> Answer:
        if request.method == "GET":
            wanted = request.params.get("bucketID")
            found = [m for m in self.mappings() if wanted in (None, m["bucketID"])]
            return as_json(200, {"content": found})
        if not grant.admin:
            return as_json(401, {"code": "unauthorized",
                                 "message": f"write:orgs/{ORG_ID}/dbrp is unauthorized"})
        body = request.json() or {}
        mapping = {"id": _new_id(), "virtual": False, **{k: body.get(k) for k in (
            "database", "retention_policy", "default", "bucketID", "orgID")}}
        self.dbrps.append(mapping)
        return as_json(201, {"content": mapping})

    def write(self, request: Request, grant: object) -> Answer:
        name = request.params.get("bucket", "")
        if name not in self.buckets:
            return as_json(404, {"code": "not found", "message": f'bucket "{name}" not found'})
        if not grant.may("write", name):
            return as_json(403, {"code": "forbidden",
                                 "message": "insufficient permissions for write"})
        refused = self.refuse_lines(request.body)
        if refused:
            return refused
        db, _, rp = name.partition("/")
        return self.forward("POST", "/write", {"db": db, "rp": rp or "autogen", "precision":
                                               request.params.get("precision", "s")},
                            request.body)

    def refuse_lines(self, body: bytes) -> Answer | None:
        return None  # 2.x takes a tag and a field of one name, as 1.x does

    def delete(self, request: Request, grant: object) -> Answer:
        name = request.params.get("bucket", "")
        if name not in self.buckets:
            return as_json(404, {"code": "not found", "message": f'bucket "{name}" not found'})
        if not grant.may("write", name):
            return as_json(403, {"code": "forbidden", "message": "insufficient permissions"})
        body = request.json() or {}
        predicate = str(body.get("predicate", ""))
        if re.search(r"\bOR\b|!=|=~|!~", predicate, re.IGNORECASE):
            return as_json(400, {"code": "invalid", "message": "the logical operator OR is not "
                                 "supported yet"})
        where, measurement = [], None
        for part in re.split(r"\s+AND\s+", predicate.strip(), flags=re.IGNORECASE):
            if not part:
                continue
            key, _, value = part.partition("=")
            key, value = key.strip().strip('"'), value.strip().strip('"')
            if key == "_measurement":
                measurement = value
            else:
                where.append(f"\"{key}\" = '{value}'")
        start, stop = (_ns(body.get("start")), _ns(body.get("stop")))
        where += [f"time >= {start}", f"time <= {stop}"]
        source = f' FROM "{measurement}"' if measurement else ""
        db = name.partition("/")[0]
        self.upstream(f"DELETE{source} WHERE {' AND '.join(where)}", db=db)
        return Answer(204)

    def not_supported(self, statement: str) -> Answer | None:
        words = statement.upper().split()
        two = " ".join(words[:2])
        three = " ".join(words[:3])
        for op in ("CREATE DATABASE", "DROP DATABASE", "DROP SERIES", "GRANT", "REVOKE"):
            if two == op or words[:1] == [op]:
                return error(f"not implemented: {op}")
        for op in ("CREATE RETENTION POLICY", "ALTER RETENTION POLICY", "DROP RETENTION POLICY"):
            if three == " ".join(op.split()[:3]):
                return error(f"not implemented: {op}")
        return None

    def query(self, request: Request, grant: object) -> Answer:
        statement = request.params.get("q", "").strip()
        refused = self.not_supported(statement)
        if refused is not None:
            return refused
        upper = statement.upper()
        if upper.startswith("SHOW DATABASES"):
            names = sorted({m["database"] for m in self.mappings()
                            if grant.may("read", self._name(m["bucketID"]))})
            return as_json(200, {"results": [{"statement_id": 0, "series": [
                {"name": "databases", "columns": ["name"], "values": [[n] for n in names]}]}]})
        found = sources(statement)
        db = (found[0][0] if found and found[0][0] else None) or request.params.get("db", "")
        rp = (found[0][1] if found and found[0][1] else None) or request.params.get("rp") or None
        deleting = upper.startswith("DELETE")
        bucket = self.bucket_of(db, None if deleting else rp)
        if bucket is None:
            return error(f"database not found: {db}")
        if not grant.may("write" if deleting else "read", bucket):
            return error("insufficient permissions") if deleting else self.unreadable(db)
        params = {k: v for k, v in request.params.items() if k in ("q", "epoch", "chunked",
                                                                    "rp")}
        params["db"] = db
        return self.forward("POST", "/query", params)

    def unreadable(self, db: str) -> Answer:
        return error(f"database not found: {db}")

    def _name(self, bucket_id: str) -> str:
        return next((n for n, b in self.buckets.items() if b["id"] == bucket_id), "")


class CloudServerless(OSS27):
    name = "Cloud Serverless"
    build, version = "cloud2", ""
    virtual_dbrps = False

    def delete(self, request: Request, grant: object) -> Answer:
        return as_json(501, {"code": "not implemented",
                             "message": "deleting data is not supported"})

    def not_supported(self, statement: str) -> Answer | None:
        word = statement.split(None, 1)[0].upper() if statement else ""
        if word == "DELETE":
            return error("datafusion error: This feature is not implemented: DELETE")
        if word in ("CREATE", "DROP", "ALTER"):
            return error("error in InfluxQL statement: parsing error: invalid InfluxQL "
                         "statement at pos 0")
        return None

    def unreadable(self, db: str) -> Answer:
        return as_json(401, {"error": "unauthorized access"})

    def refuse_lines(self, body: bytes) -> Answer | None:
        for measurement, tags, fields, _ in line_heads(body):
            if set(tags) & set(fields):
                return as_json(400, {"code": "invalid", "message": f"partial write: table "
                                     f"{measurement}: a tag and a field share a name"})
        return None


def _ns(text: object) -> int:
    """RFC 3339 (`2026-01-01T00:00:00.000000000Z`) as epoch nanoseconds."""
    value = str(text)
    main, _, frac = value.rstrip("Z").partition(".")
    seconds = int(datetime.fromisoformat(main + "+00:00").timestamp())
    return seconds * 1_000_000_000 + int((frac or "0").ljust(9, "0")[:9])


__all__ = ["ALL", "ORG", "OSS27", "CloudServerless"]
