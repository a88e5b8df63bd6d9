"""Tests of tools/vendor_js.py (vendoring the book's JavaScript from the npm registry) on made-up tarballs."""
from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("vendor_js", ROOT / "tools" / "vendor_js.py")
V = importlib.util.module_from_spec(_spec)
sys.modules["vendor_js"] = V  # dataclasses look the module up while the class is made
_spec.loader.exec_module(V)


def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_sri_is_the_npm_integrity_format():
    data = b"hello"
    assert V.sri(data) == "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    assert V.sri(data) != V.sri(b"hello!")


def test_pins_are_exact_versions_with_sha512_and_registry_urls():
    for pkg in V.PACKAGES:
        assert pkg.version.count(".") == 2 and not any(c in pkg.version for c in "^~*x<>")
        assert pkg.integrity.startswith("sha512-") and len(base64.b64decode(pkg.integrity[7:])) == 64
        assert pkg.url.startswith("https://registry.npmjs.org/") and pkg.url.endswith(f"-{pkg.version}.tgz")
        assert pkg.license_file or pkg.license_text
    scoped = next(p for p in V.PACKAGES if p.name.startswith("@"))
    assert scoped.url == (f"https://registry.npmjs.org/{scoped.name}/-/{scoped.name.split('/')[1]}-"
                          f"{scoped.version}.tgz")


def test_fetch_refuses_a_tarball_that_does_not_match_its_pin(tmp_path, monkeypatch):
    good = _tarball({"package/a.js": b"1"})
    pkg = V.Package("demo", "1.0.0", V.sri(good), dest="demo", include=("a.js",))
    monkeypatch.setenv("GANLIB_NPM_CACHE", str(tmp_path / "cache"))

    class Reply(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(V.urllib.request, "urlopen", lambda url, timeout: Reply(good + b"tampered"))
    with pytest.raises(SystemExit, match="Integrity check FAILED"):
        V.fetch(pkg)
    assert not (tmp_path / "cache").exists()  # nothing kept
    monkeypatch.setattr(V.urllib.request, "urlopen", lambda url, timeout: Reply(good))
    assert V.fetch(pkg) == good
    monkeypatch.setattr(V.urllib.request, "urlopen", lambda url, timeout: 1 / 0)  # now served from the cache
    assert V.fetch(pkg) == good


def test_extract_takes_the_wanted_files_and_the_licence(tmp_path):
    data = _tarball({"package/dist/x.js": b"x", "package/dist/x.js.map": b"m", "package/LICENSE": b"L",
                     "package/es5/a/b.js": b"b", "package/README.md": b"r"})
    pkg = V.Package("demo", "1.0.0", V.sri(data), dest="demo", include=("dist/*.js", "es5/*"))
    files = V.extract(pkg, data, tmp_path)
    assert files == ["LICENSE", "dist/x.js", "es5/a/b.js"]
    assert (tmp_path / "es5" / "a" / "b.js").read_bytes() == b"b" and not (tmp_path / "README.md").exists()
    no_licence = V.Package("demo", "1.0.0", "", dest="d", include=("dist/x.js",), license_file=None,
                           license_text="MIT {version}")
    assert V.extract(no_licence, data, tmp_path / "d") == ["LICENSE.txt", "dist/x.js"]
    assert (tmp_path / "d" / "LICENSE.txt").read_text() == "MIT 1.0.0"
    with pytest.raises(SystemExit, match="nothing matched"):
        V.extract(V.Package("demo", "1.0.0", "", dest="e", include=("nope/*",)), data, tmp_path / "e")
    evil = _tarball({"package/../evil.js": b"e", "package/LICENSE": b"L"})
    with pytest.raises(SystemExit, match="unsafe"):
        V.extract(V.Package("demo", "1.0.0", "", dest="f", include=("*",)), evil, tmp_path / "f")


def test_vendor_writes_a_manifest_and_notices_changes(tmp_path, monkeypatch):
    data = _tarball({"package/a.js": b"a", "package/LICENSE": b"L"})
    pkg = V.Package("demo", "1.0.0", V.sri(data), dest="demo", include=("a.js",), license_id="MIT")
    monkeypatch.setattr(V, "PACKAGES", (pkg,))
    monkeypatch.setattr(V, "fetch", lambda p: data)
    dest = tmp_path / "vendor"
    assert not V.is_current(dest)
    V.vendor(dest)
    assert V.is_current(dest) and (dest / "demo" / "a.js").read_bytes() == b"a"
    assert V.read_manifest(dest)["demo"]["files"] == ["LICENSE", "a.js"]
    assert V.main(["--check", "--dest", str(dest)]) == 0
    (dest / "demo" / "a.js").unlink()  # a missing file
    assert not V.is_current(dest) and V.main(["--check", "--dest", str(dest)]) == 1
    V.vendor(dest)
    assert V.is_current(dest)
    monkeypatch.setattr(V, "PACKAGES", (V.Package("demo", "1.0.1", V.sri(data), dest="demo", include=("a.js",),
                                                  license_id="MIT"),))  # a moved pin
    assert not V.is_current(dest)
