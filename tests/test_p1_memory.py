"""P1 and API v1 without the heavy imports they never use (issue 14: peak RSS <= 60 MB).

Each check runs in a fresh interpreter, since an import cannot be undone: the service with P1
decoding the two real telegrams (tests/data/telegrams) and a v1 writer writing to a real InfluxDB
must not have imported `cryptography`, `dlms_cosem` or `influxdb_client`; and the deferred crypto
names of `dsmr_parser.parsers` must still be the real objects once used (an encrypted meter works).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TELEGRAMS = ROOT / "tests" / "data" / "telegrams"

SERVICE_WITH_P1_AND_V1 = """
import asyncio, json, sys
from pathlib import Path
from logger.app.delivery import Delivery
from logger.app.p1_job import P1Job
from logger.app.service import Service
from logger.config import Settings
from logger.sources.p1.decoder import P1Decoder

url, db, telegrams = sys.argv[1], sys.argv[2], sys.argv[3:]
decoder = P1Decoder("home")
points = [p for t in telegrams for p in decoder.feed(Path(t).read_bytes())]
settings = Settings(local={"enabled": False}, p1={"enabled": True, "host": "127.0.0.1"},
                    influx={"url": url, "database": db, "timeout": 5.0},
                    outbox={"path": sys.argv[0] + ".sqlite"})

async def main():
    service = Service(settings)
    assert await service.sink.ensure()  # the migrations, through API v1
    service.outbox.put(points)
    report = await service.delivery.drain(force=True)
    await service.delivery.writer.close()
    service.outbox.close()
    return report.written

written = asyncio.run(main())
print(json.dumps({"points": len(points), "written": written,
                  "loaded": sorted(m for m in ("cryptography", "dlms_cosem", "influxdb_client")
                                   if m in sys.modules)}))
"""

DEFERRED_STILL_WORK = """
import json, sys
from logger.sources.p1.deferred_imports import deferred_names
from dsmr_parser import parsers
before = deferred_names()
assert "cryptography" not in sys.modules and "dlms_cosem" not in sys.modules
from types import SimpleNamespace
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
key, title, counter, plain = bytes(range(16)), b"SAGEMCOM", 7, b"/FLU5 telegram!ABCD"
iv = title + counter.to_bytes(4, "big") + (2).to_bytes(4, "big")
encryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
apdu = SimpleNamespace(system_title=title, invocation_counter=counter,
                       ciphered_text=encryptor.update(plain) + encryptor.finalize() + b"T" * 12)
decrypted = parsers._decrypt_without_verification(apdu, key)
import dlms_cosem.exceptions, dlms_cosem.protocol.xdlms, dlms_cosem.connection
print(json.dumps({
    "before": before, "after": deferred_names(), "decrypted": decrypted == plain,
    "tag": parsers.GeneralGlobalCipher.TAG,
    "real_error": parsers.DlmsDecryptionError is dlms_cosem.exceptions.DecryptionError,
    "real_factory": parsers.XDlmsApduFactory is dlms_cosem.connection.XDlmsApduFactory,
    "real_cipher": parsers.GeneralGlobalCipher is dlms_cosem.protocol.xdlms.GeneralGlobalCipher,
}))
"""


def run_python(code: str, *args: str, tmp_path: Path) -> dict:
    script = tmp_path / "check.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script), *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.integration
def test_p1_and_api_v1_import_neither_crypto_nor_influxdb_client(tmp_path, influxd, influx_db):
    telegrams = sorted(str(p) for p in TELEGRAMS.glob("*.txt"))
    assert len(telegrams) == 2
    seen = run_python(SERVICE_WITH_P1_AND_V1, influxd.url, influx_db, *telegrams,
                      tmp_path=tmp_path)
    assert seen["points"] >= 2 and seen["written"] == seen["points"]
    assert seen["loaded"] == []


def test_the_deferred_crypto_names_become_the_real_objects_on_first_use(tmp_path):
    seen = run_python(DEFERRED_STILL_WORK, tmp_path=tmp_path)
    assert seen["before"] == ["Cipher", "DlmsDecryptionError", "GeneralGlobalCipher",
                              "XDlmsApduFactory", "algorithms", "modes"]
    assert seen["after"] == []
    assert seen["decrypted"] is True
    assert seen["tag"] == 219
    assert seen["real_error"] and seen["real_factory"] and seen["real_cipher"]
