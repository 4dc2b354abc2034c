"""Finding Debian's `influxd` and rewriting the config it prints for a private instance."""

from __future__ import annotations

import re

from .server import find_binary

_CANDIDATE_PATHS = ("/usr/bin/influxd", "/usr/sbin/influxd", "/usr/local/bin/influxd")


def influxd_path() -> str | None:
    """The influxd binary to use, or None when it is not installed.

    `$JULLIX_INFLUXD` (a path) wins over `$PATH` and the usual Debian locations.
    """
    return find_binary("JULLIX_INFLUXD", "influxd", _CANDIDATE_PATHS)




def toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class InfluxdConfig:
    """Line-based editor for the TOML that `influxd config` prints (keeps everything else)."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*$")
    _KEY = re.compile(r"^(\s*)([A-Za-z0-9_-]+)\s*=")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def _section_of_each_line(self) -> list[str]:
        section, out = "", []
        for line in self.lines:
            match = self._HEADER.match(line)
            if match:
                section = match.group(1)
            out.append(section)
        return out

    def set(self, section: str, key: str, value: str) -> None:
        """Set `key = value` (value already TOML-encoded) in every `[section]` ("" = top level)."""
        sections = self._section_of_each_line()
        found = False
        for i, (line, sec) in enumerate(zip(self.lines, sections, strict=True)):
            match = self._KEY.match(line)
            if sec == section and match and match.group(2) == key:
                self.lines[i] = f"{match.group(1)}{key} = {value}"
                found = True
        if found:
            return
        if section == "":
            self.lines.insert(0, f"{key} = {value}")
            return
        for i, line in enumerate(self.lines):
            match = self._HEADER.match(line)
            if match and match.group(1) == section:
                self.lines.insert(i + 1, f"  {key} = {value}")
                return
        self.lines += ["", f"[{section}]", f"  {key} = {value}"]

    def replace_everywhere(self, old: str, new: str) -> None:
        self.lines = [line.replace(old, new) for line in self.lines]

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


# ---------------------------------------------------------------------------------------------
# the server
