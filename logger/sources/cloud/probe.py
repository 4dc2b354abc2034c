"""`cloud-probe`: save the raw answers of every read-only endpoint for one day, token redacted,
so the undocumented history format can be checked on a real account."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from logger.core.files import private_dir, write_private
from logger.sources.cloud.client import CloudAuthError, CloudClient, CloudError, redact
from logger.sources.cloud.paths import probe_paths
from logger.sources.cloud.realtime import resolve_installation
from logger.sources.values import parse_json


async def probe(client: CloudClient, installation_id: str | None, day: date, out: Path
                ) -> list[tuple[str, str]]:
    """Save the raw answer of every history/statistics endpoint for `day` into `out`.

    One file per endpoint (`NN-path_with_underscores.json`) holding the path, status,
    content type and body, with the token redacted. Returns (path, outcome) pairs. The files
    say when the house used what: mode 0600 in a directory created 0700.
    """
    private_dir(out)
    ident = await resolve_installation(client, installation_id)
    results = []
    for index, path in enumerate(probe_paths(ident, day)):
        try:
            raw = await client.get_raw(path)
        except CloudAuthError:
            raise
        except CloudError as exc:
            results.append((path, str(exc)))
            continue
        try:
            body: Any = parse_json(raw.text)
        except ValueError:
            body = raw.text
        record = {"path": path, "status": raw.status, "content_type": raw.content_type,
                  "body": body}
        text = redact(json.dumps(record, indent=2, ensure_ascii=False), client.token_text)
        name = f"{index:02d}-{path.replace('/', '_')}.json"
        write_private(out / name, text + "\n")
        results.append((path, f"HTTP {raw.status}, {len(raw.text)} bytes -> {name}"))
    return results
