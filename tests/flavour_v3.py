"""A reproduction of InfluxDB 3 Core and 3 Enterprise (3.11) in front of the real InfluxDB 1.6.

NOT the real server (none can be installed here: docs/influxdb.md): what it answers comes from
InfluxData's source and documentation, read for this reproduction:

- `/ping`: HTTP 200, JSON `{"version", "revision", "process_id", "product_name": "InfluxDB 3
  Core"}`, headers `X-Influxdb-Build: Core` (`Enterprise`) and `X-Influxdb-Version`; it needs
  the token like every endpoint (influxdb3_server/src/http.rs `ping`, `perform_routing`).
  `/health` answers `OK` as text/plain (http.rs `health`).
- Writes: `/write?db=&rp=` lands in the database `db/rp` (`db` for no policy or `autogen`),
  `/api/v2/write?bucket=B` in database `B` (iox_http/src/write/single_tenant `parse_v1`); a
  database is created on its first write (docs: core/get-started/write). Core allows 5
  databases: one more answers `Adding a new database would exceed limit of 5 databases`, 422 on
  `/write`, 400 `{"code":"invalid",...}` on `/api/v2/write` (influxdb3_catalog/src/error.rs
  `TooManyDbs`, http.rs `V2WriteApiError`). A tag and a field of one name are refused
  (docs: write compatibility APIs; the line is rejected, the others are written).
- `/api/v3/configure/database`: GET `?format=json` lists `[{"iox::database": name}]`, POST
  `{"db", "retention_period"}` creates (409 when it exists), PUT sets the retention (http.rs
  `show_databases`, `create_database`, `update_database`); admin tokens only (403 otherwise).
- `/query` (the v1 API, iox_v1_query_api/src/handler.rs): the database is the statement's
  `db.rp` (`db/rp`) or else the `db` parameter (the `rp` parameter is ignored then); a
  database that does not exist is the statement error `Database X not found`; a token that
  may not read answers 401 `{"error":"unauthorized access"}`. `CREATE DATABASE`, `DELETE`,
  `DROP MEASUREMENT` are `datafusion error: This feature is not implemented: DELETE` (the
  InfluxQL planner, iox_query_influxql/src/plan/planner.rs); `CREATE RETENTION POLICY`, `DROP
  SERIES`, `ALTER` do not parse (influxdb_influxql_parser: "Invalid CREATE statement, expected
  DATABASE following CREATE", "invalid DROP statement, expected MEASUREMENT").
- Core's query file limit (influxdb3_write/src/write_buffer/mod.rs `get_table_chunks`): a query
  whose time range needs more than 432 Parquet files of a table fails with "Query would scan 432
  Parquet files, exceeding the file limit. ..." (the text of 3.9+, PR #27019). Files are modelled
  as one per 10-minute block holding data of the table (gen1 files, Core never compacts), plus
  one more each time a later write request adds points to a block that is no longer the newest
  (a snapshot persists late writes as new files): a backfill or an outbox catching up fragments
  history as on Core. Enterprise compacts: no limit.
- No `/api/v2/delete`, no `/api/v2/buckets`: `404 Not found` (http.rs `RoutingError::NotFound`).
- Core has admin tokens only; Enterprise also database tokens (`db:NAME:read,write`, docs:
  enterprise/admin/tokens/resource).
"""

from __future__ import annotations

import re

from flavour_proxy import (
    Answer,
    FlavourProxy,
    Request,
    as_json,
    line_heads,
    sources,
    statement_error,
    time_bounds,
)

VERSION = "3.11.4"
BLOCK_S = 600  # Core's default gen1 duration: 10 minutes
NOT_FOUND = Answer(404, b"Not found")
FILE_LIMIT_TEXT = (
    "datafusion error: External error: Query would scan {limit} Parquet files, exceeding the "
    "file limit. InfluxDB 3 Core caps file access to prevent performance degradation and memory "
    "issues. Use a narrower time range, or increase the limit with --query-file-limit (this may "
    "cause slower queries or instability).")


class Core(FlavourProxy):
    name = "3 Core"
    build = "Core"
    database_limit = 5

    def __init__(self, upstream_url: str, file_limit: int | None = 432) -> None:
        super().__init__(upstream_url)
        self.file_limit = file_limit
        self.databases: dict[str, int] = {}  # name -> retention seconds (0: forever)
        # (database, table) -> {10-minute block: files}; and the newest block seen
        self.files: dict[tuple[str, str], dict[int, int]] = {}
        self.newest: dict[tuple[str, str], int] = {}
        self.refusals = 0

    # -- names and places ---------------------------------------------------------------------

    @staticmethod
    def upstream_place(database: str) -> tuple[str, str]:
        db, _, rp = database.partition("/")
        return db, rp or "autogen"

    def create(self, database: str, retention_s: int = 0) -> str | None:
        """None, or the refusal of one database too many."""
        with self.lock:
            if database in self.databases:
                return None
            if self.database_limit and len(self.databases) >= self.database_limit:
                return ("Adding a new database would exceed limit of "
                        f"{self.database_limit} databases")
            self.databases[database] = retention_s
        self.ensure_upstream(*self.upstream_place(database), retention_s)
        return None

    # -- the routes ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Answer:
        grant = self.grant(request)
        if grant is None:
            return as_json(401, {"error": "the request was not authenticated"})
        path = request.path
        if path == "/ping":
            return as_json(200, {"version": VERSION, "revision": "0a1b2c3", "process_id":
                                 "0198c1c4-0000-7000-8000-000000000000",
                                 "product_name": f"InfluxDB 3 {self.build}"},
                           [("X-Influxdb-Build", self.build), ("X-Influxdb-Version", VERSION)])
        if path in ("/health", "/api/v1/health"):
            return Answer(200, b"OK", [("Content-Type", "text/plain; charset=utf-8")])
        if path == "/write" and request.method == "POST":
            rp = request.params.get("rp", "")
            db = request.params.get("db", "")
            name = f"{db}/{rp}" if rp and rp not in ("autogen", "default") else db
            return self.write(request, grant, name, v2=False)
        if path == "/api/v2/write" and request.method == "POST":
            return self.write(request, grant, request.params.get("bucket", ""), v2=True)
        if path == "/api/v3/configure/database":
            return self.configure(request, grant)
        if path == "/query":
            return self.query(request, grant)
        return NOT_FOUND

    def write(self, request: Request, grant: object, database: str, v2: bool) -> Answer:
        if not grant.may("write", database):
            return as_json(403, {"code": "forbidden", "message": "forbidden"} if v2
                           else {"error": "requestor is forbidden from requested resource"})
        refused = self.create(database)
        if refused is not None:
            if v2:
                return as_json(400, {"code": "invalid", "message": refused})
            return as_json(422, {"error": refused})
        kept, rejected = [], []
        lines = request.body.decode("utf-8", "replace").splitlines()
        for number, (line, head) in enumerate(zip(lines, line_heads(request.body),
                                                  strict=False), start=1):
            _measurement, tags, fields, _ = head
            clash = set(tags) & set(fields)
            if clash:
                rejected.append({"original_line": line[:200], "line_number": number,
                                 "error_message": f"tag and field share the name "
                                                  f"{sorted(clash)[0]!r}"})
            else:
                kept.append(line)
        if kept:
            db, rp = self.upstream_place(database)
            body = ("\n".join(kept) + "\n").encode()
            answer = self.forward("POST", "/write", {"db": db, "rp": rp, "precision":
                                                     request.params.get("precision", "s")}, body)
            if answer.status != 204:
                return answer
            self.note_files(database, line_heads(body))
        if rejected:
            message = "partial write of line protocol occurred"
            return as_json(400, {"code": "invalid", "message": message, "data": rejected} if v2
                           else {"error": message, "data": rejected})
        return Answer(204)

    def note_files(self, database: str, heads: list[tuple[str, list, list, int]]) -> None:
        """The file model: one per block with data, one more per late write into a block."""
        touched: dict[tuple[str, str], set[int]] = {}
        for measurement, _tags, _fields, stamp in heads:
            touched.setdefault((database, measurement), set()).add(stamp // BLOCK_S)
        with self.lock:
            for key, blocks in touched.items():
                files = self.files.setdefault(key, {})
                newest = self.newest.get(key, -1)
                for block in blocks:
                    if block not in files:
                        files[block] = 1
                    elif block < newest:
                        files[block] += 1
                self.newest[key] = max(newest, *blocks)

    def register(self, database: str, body: bytes) -> None:
        """History written straight into the 1.6 behind (a test's or benchmark's bulk load),
        counted in the file model as if it had been written here, in one request."""
        self.create(database)
        self.note_files(database, line_heads(body))

    def files_in(self, database: str, table: str, lo: float, hi: float) -> int:
        with self.lock:
            files = self.files.get((database, table), {})
            first, last = int(lo // BLOCK_S), int(min(hi, 2**62) // BLOCK_S)
            if last - first > len(files):
                return sum(n for b, n in files.items() if first <= b <= last)
            return sum(files.get(b, 0) for b in range(first, last + 1))

    def configure(self, request: Request, grant: object) -> Answer:
        if not grant.admin:
            return as_json(403, {"error": "the request was not authorized"})
        body = request.json() or {}
        if request.method == "GET":
            return as_json(200, [{"iox::database": name} for name in sorted(self.databases)])
        name = str(body.get("db", ""))
        retention_s = _seconds(body.get("retention_period"))
        if request.method == "POST":
            if name in self.databases:
                return Answer(409, b"attempted to create a resource that already exists")
            refused = self.create(name, retention_s)
            return as_json(422, {"error": refused}) if refused else Answer(200)
        if request.method == "PUT":
            if name not in self.databases:
                return Answer(404, f"Database not found {name}".encode())
            self.databases[name] = retention_s
            self.ensure_upstream(*self.upstream_place(name), retention_s)
            return Answer(200)
        return NOT_FOUND

    def query(self, request: Request, grant: object) -> Answer:
        statement = request.params.get("q", "").strip()
        word = statement.split(None, 1)[0].upper() if statement else ""
        two = " ".join(statement.upper().split()[:2])
        if word in ("DELETE",) or two in ("CREATE DATABASE", "DROP MEASUREMENT"):
            return statement_error("datafusion error: This feature is not implemented: "
                                   + ("DELETE" if word == "DELETE" else two))
        if word == "CREATE":
            return statement_error("error in InfluxQL statement: parsing error: Invalid CREATE "
                                   "statement, expected DATABASE following CREATE at pos 7")
        if word == "DROP":
            return statement_error("error in InfluxQL statement: parsing error: invalid DROP "
                                   "statement, expected MEASUREMENT at pos 5")
        if word not in ("SELECT", "SHOW", "EXPLAIN"):
            return statement_error("error in InfluxQL statement: parsing error: invalid "
                                   "InfluxQL statement at pos 0")
        if two == "SHOW DATABASES":
            names = sorted({n.partition("/")[0] for n in self.databases if grant.may("read", n)})
            return as_json(200, {"results": [{"statement_id": 0, "series": [
                {"name": "databases", "columns": ["name"], "values": [[n] for n in names]}]}]})
        found = sources(statement)
        db, rp = (found[0][0], found[0][1]) if found and found[0][0] else (None, None)
        database = (f"{db}/{rp}" if rp and rp not in ("autogen", "default") else db) if db \
            else request.params.get("db", "")
        if not grant.may("read", database):
            return as_json(401, {"error": "unauthorized access"})
        if database not in self.databases:
            return statement_error(f"Database {database} not found")
        if self.file_limit is not None and word == "SELECT":
            lo, hi = time_bounds(statement)
            for _db, _rp, table in found:
                if self.files_in(database, table, lo, hi) > self.file_limit:
                    self.refusals += 1
                    return statement_error(FILE_LIMIT_TEXT.format(limit=self.file_limit))
        upstream_db, upstream_rp = self.upstream_place(database)
        params = {k: v for k, v in request.params.items() if k in ("q", "epoch", "chunked")}
        params.update({"db": upstream_db, "rp": upstream_rp})
        return self.forward("POST", "/query", params)


class Enterprise(Core):
    """3 Enterprise: the same APIs, a compactor (no file limit), database tokens."""

    name = "3 Enterprise"
    build = "Enterprise"
    database_limit = 0

    def __init__(self, upstream_url: str) -> None:
        super().__init__(upstream_url, file_limit=None)


def _seconds(text: object) -> int:
    """humantime as the configure API takes it (`400d`, `86400s`, `4w`); None: forever."""
    if not text:
        return 0
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)\s*([smhdw])", str(text)))
