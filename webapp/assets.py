"""Fetch the pinned front-end libraries into static/vendor/.

Each package is downloaded from the npm registry as its tarball; the
tarball's SHA-512 must equal the pinned integrity value or nothing is
written. Runs without the app (`python -m webapp.assets`), so set-up can
call it before anything else exists. Already-present files with the right
version are left alone.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "static" / "vendor.json"
VENDOR = ROOT / "static" / "vendor"


class IntegrityError(RuntimeError):
    pass


def _check(data: bytes, integrity: str) -> None:
    algo, _, expected = integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if digest != expected:
        raise IntegrityError(f"integrity mismatch: expected {integrity}, got {algo}-{digest}")


def fetch_all() -> list[str]:
    manifest = json.loads(MANIFEST.read_text())
    VENDOR.mkdir(parents=True, exist_ok=True)
    stamp_path = VENDOR / ".versions.json"
    stamps = json.loads(stamp_path.read_text()) if stamp_path.exists() else {}
    lines = []
    for pkg in manifest["packages"]:
        wanted = {dst for dst in pkg["files"].values()}
        if stamps.get(pkg["name"]) == pkg["integrity"] and all((VENDOR / d).exists() for d in wanted):
            lines.append(f"{pkg['name']}@{pkg['version']}: present")
            continue
        registry = os.environ.get("NPM_REGISTRY", "https://registry.npmjs.org").rstrip("/")
        url = pkg["tarball"].replace("https://registry.npmjs.org", registry)
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read()
        _check(data, pkg["integrity"])
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for src, dst in pkg["files"].items():
                member = tar.getmember(src)
                content = tar.extractfile(member).read()
                (VENDOR / dst).write_bytes(content)
        stamps[pkg["name"]] = pkg["integrity"]
        lines.append(f"{pkg['name']}@{pkg['version']}: fetched, sha512 verified")
    stamp_path.write_text(json.dumps(stamps, indent=1))
    return lines


if __name__ == "__main__":
    try:
        for line in fetch_all():
            print(line)
    except IntegrityError as exc:
        print(f"refusing to install front-end assets: {exc}", file=sys.stderr)
        sys.exit(1)
