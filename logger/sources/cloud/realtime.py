"""Installations and the realtime summary of the platform API, as `power_flow` points."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from logger.core.point import Point
from logger.core.problems import Problems
from logger.sources.cloud.client import CloudClient, CloudError, short_sample
from logger.sources.power_flow import power_flow_point
from logger.sources.values import kw_to_w, unwrap

MAX_POWER_W = 100_000.0  # no home has a 100 kW flow: anything larger is not a reading


def installation_ids(payload: Any) -> list[str]:
    """Ids from `/installation/all`: a list, `{"installations": [...]}` or a single object."""
    payload = unwrap(payload)
    if isinstance(payload, dict) and isinstance(payload.get("installations"), list):
        payload = payload["installations"]
    if isinstance(payload, dict):
        payload = [payload]
    ids = []
    for item in payload if isinstance(payload, list) else []:
        if isinstance(item, dict):
            ident = item.get("id", item.get("install_id"))
            if isinstance(ident, str | int) and str(ident).strip():
                ids.append(str(ident).strip())
    return ids


async def resolve_installation(client: CloudClient, pinned: str | None) -> str:
    """The installation id to use: the pinned one (checked), or the account's only one."""
    ids = installation_ids(await client.get("installation/all"))
    if pinned:
        if ids and pinned not in ids:
            raise CloudError(f"[cloud] installation_id {pinned!r} is not one of this account's "
                             f"installations ({', '.join(ids)})")
        return pinned
    if not ids:
        raise CloudError("the Jullix cloud account has no installations")
    if len(ids) > 1:
        raise CloudError("the Jullix cloud account has several installations "
                         f"({', '.join(ids)}): set [cloud] installation_id to one of them")
    return ids[0]


def summary_point(payload: Any, installation: str, received_at: datetime) -> Point | None:
    """`/actual/{id}/summary/power` -> power_flow (source=cloud) at receive time, or None."""
    data = unwrap(payload)
    powers = data.get("powers") if isinstance(data, dict) else None
    if not isinstance(powers, dict):
        return None
    grid = kw_to_w(powers.get("grid"))
    if grid is None:
        return None
    values = {"grid_w": grid, "solar_w": kw_to_w(powers.get("solar")),
              "battery_w": kw_to_w(powers.get("battery")), "car_w": kw_to_w(powers.get("car"))}
    if any(v is not None and abs(v) >= MAX_POWER_W for v in values.values()):
        return None
    return power_flow_point(installation, received_at, "cloud", **values)


class CloudRealtime:
    """Polls the realtime summary into power_flow points (source=cloud)."""

    def __init__(self, client: CloudClient, installation: str, installation_id: str | None,
                 problems: Problems) -> None:
        self.client = client
        self.installation = installation
        self.pinned = installation_id
        self.installation_id: str | None = None
        self.problems = problems

    async def poll(self, received_at: datetime | None = None) -> list[Point]:
        stamp = (received_at or datetime.now(UTC)).replace(microsecond=0)
        if self.installation_id is None:
            self.installation_id = await resolve_installation(self.client, self.pinned)
        payload = await self.client.get(f"actual/{self.installation_id}/summary/power")
        point = summary_point(payload, self.installation, stamp)
        if point is None:
            self.problems.report("cloud_summary_shape",
                                 "cloud realtime summary not understood, nothing written: %.200s",
                                 short_sample(payload, self.client.token_text))
            return []
        return [point]
