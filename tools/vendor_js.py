"""Vendor the JavaScript that the static book loads, so that its pages read the same with the network off.

The HTML book needs three JavaScript packages that Jupyter Book would otherwise take from CDNs:

* ``requirejs``                     -- the AMD loader the Jupyter widget manager runs on;
* ``@jupyter-widgets/html-manager`` -- renders the widget state saved in the notebooks (ipywidgets 8);
* ``mathjax`` (3, ``es5`` build)    -- typesets the math.

This script downloads each package's tarball from the npm registry at a pinned version, refuses it unless
its sha512 matches the integrity pinned below (the ``dist.integrity`` of the registry's metadata), and
extracts the files the pages use, with their licences, into ``vendor/`` (ignored by git). ``_config.yml``
points Sphinx there (``html_static_path``, ``mathjax_path``, ``nb_ipywidgets_js``). It needs only Python 3:
no Node, no npm.

Usage (from the repository root; idempotent, a second run with the same pins does nothing)::

    python tools/vendor_js.py            # download, verify, extract into vendor/
    python tools/vendor_js.py --check    # exit 1 unless vendor/ holds exactly the pinned versions

Tarballs are cached in ``$GANLIB_NPM_CACHE`` (default ``~/.cache/gan-course/npm``), so a machine that ran
it once can vendor again offline. To move a pin: change the version, take the new integrity from
``https://registry.npmjs.org/<name>/<version>`` (field ``dist.integrity``), run, then build the book and
run ``tests/test_browser.py``.
"""
from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "vendor"          # html_static_path entry: its contents land in _build/html/_static/
MANIFEST = "VENDORED.json"       # what is in vendor/, with versions, integrity and licences
REGISTRY = "https://registry.npmjs.org"

MIT_REQUIREJS = """\
The requirejs npm package ships no LICENSE file; its package.json says "license": "MIT" and require.js
starts with: "@license RequireJS {version} Copyright jQuery Foundation and other contributors.
Released under MIT license, https://github.com/requirejs/requirejs/blob/master/LICENSE".

MIT License

Copyright jQuery Foundation and other contributors, https://jquery.org/

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE
USE OR OTHER DEALINGS IN THE SOFTWARE.
"""

BSD3_IPYWIDGETS = """\
The @jupyter-widgets/html-manager npm package ships no LICENSE file; its package.json says
"license": "BSD-3-Clause" (the licence of the ipywidgets project). The bundled third-party code
(jQuery, Font Awesome Free, lodash, ...) is listed with its licences in dist/embed.js.LICENSE.txt.

BSD 3-Clause License

Copyright (c) 2015 Project Jupyter Contributors
All rights reserved.

Redistribution and use in source and binary forms, with or without modification, are permitted provided
that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this list of conditions and the
   following disclaimer.
2. Redistributions in binary form must reproduce the above copyright notice, this list of conditions and
   the following disclaimer in the documentation and/or other materials provided with the distribution.
3. Neither the name of the copyright holder nor the names of its contributors may be used to endorse or
   promote products derived from this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED
WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A
PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY
DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO,
PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION)
HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING
NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
POSSIBILITY OF SUCH DAMAGE.
"""


@dataclass(frozen=True)
class Package:
    """One pinned npm package and what to take from it."""

    name: str               # npm name, e.g. "@jupyter-widgets/html-manager"
    version: str            # exact version: the pin
    integrity: str          # "sha512-<base64>": the registry's dist.integrity for that version
    dest: str               # folder under vendor/
    include: tuple          # fnmatch patterns, relative to the tarball's package/ folder
    exclude: tuple = ()     # patterns taken out again
    license_file: str | None = "LICENSE"   # the licence inside the tarball, or None
    license_text: str | None = None        # written as LICENSE.txt when the tarball has none
    license_id: str = ""                   # SPDX id from the package's package.json

    @property
    def url(self) -> str:
        base = self.name.split("/")[-1]
        return f"{REGISTRY}/{self.name}/-/{base}-{self.version}.tgz"


PACKAGES = (
    Package("requirejs", "2.3.8",
            "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
            dest="requirejs", include=("require.js", "package.json"), license_file=None,
            license_text=MIT_REQUIREJS, license_id="MIT"),
    # 1.0.15 is the html-manager of ipywidgets 8.1.x (controls 5.0.13), the widget versions the notebooks save.
    Package("@jupyter-widgets/html-manager", "1.0.15",
            "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
            dest="html-manager",
            # the AMD bundle and the Font Awesome files its CSS asks for (next to it: webpack's public path)
            include=("dist/embed-amd.js", "dist/*.woff2", "dist/*.woff", "dist/*.ttf", "dist/*.eot",
                     "dist/*.svg", "dist/embed.js.LICENSE.txt", "package.json"),
            license_file=None, license_text=BSD3_IPYWIDGETS, license_id="BSD-3-Clause"),
    # MathJax 3's es5 build: the combined component Sphinx loads, plus what it loads on demand (TeX
    # extensions through autoload, CHTML fonts, the menu and its accessibility tools). Left out: the SVG
    # output (not used), node-main.js (Node only) and latest.js (which would fetch from a CDN).
    Package("mathjax", "3.2.2",
            "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
            dest="mathjax",
            include=("es5/tex-mml-chtml.js", "es5/tex-chtml.js", "es5/core.js", "es5/loader.js",
                     "es5/startup.js", "es5/input/*", "es5/output/chtml.js", "es5/output/chtml/*",
                     "es5/ui/*", "es5/a11y/*", "es5/sre/*", "es5/adaptors/*", "package.json"),
            license_id="Apache-2.0"),
)


def cache_dir() -> Path:
    return Path(os.environ.get("GANLIB_NPM_CACHE", Path.home() / ".cache" / "gan-course" / "npm"))


def sri(data: bytes) -> str:
    """Subresource-integrity string ``sha512-<base64>`` of ``data`` (the npm registry's format)."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch(pkg: Package) -> bytes:
    """The package's tarball, from the cache or the registry, checked against the pinned integrity."""
    cached = cache_dir() / f"{pkg.name.replace('/', '__')}-{pkg.version}.tgz"
    if cached.exists() and sri(cached.read_bytes()) == pkg.integrity:
        return cached.read_bytes()
    print(f"downloading {pkg.url}", flush=True)
    try:
        with urllib.request.urlopen(pkg.url, timeout=120) as response:
            data = response.read()
    except OSError as err:
        raise SystemExit(f"Could not download {pkg.url}: {err}\nThe npm registry must be reachable "
                         f"(or put the tarball at {cached}).") from err
    got = sri(data)
    if got != pkg.integrity:
        raise SystemExit(f"Integrity check FAILED for {pkg.name}@{pkg.version}:\n  pinned   {pkg.integrity}\n"
                         f"  received {got}\nNothing was extracted. If you moved the pin, copy the new "
                         f"dist.integrity from {REGISTRY}/{pkg.name}/{pkg.version}.")
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(data)
    return data


def _wanted(rel: str, pkg: Package) -> bool:
    return (any(fnmatch.fnmatch(rel, p) for p in pkg.include)
            and not any(fnmatch.fnmatch(rel, p) for p in pkg.exclude))


def extract(pkg: Package, data: bytes, dest: Path) -> list[str]:
    """Write the package's wanted files (and licence) under ``dest``; returns their paths relative to it."""
    written = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith("package/"):
                continue
            rel = member.name[len("package/"):]
            if ".." in Path(rel).parts:
                raise SystemExit(f"Refusing the unsafe path {member.name!r} in {pkg.name}.")
            if not (_wanted(rel, pkg) or rel == pkg.license_file):
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(member).read())
            written.append(rel)
    if pkg.license_file and pkg.license_file not in written:
        raise SystemExit(f"{pkg.name}@{pkg.version} has no {pkg.license_file}; update tools/vendor_js.py.")
    if pkg.license_text:
        (dest / "LICENSE.txt").write_text(pkg.license_text.format(version=pkg.version))
        written.append("LICENSE.txt")
    missing = [p for p in pkg.include if not any(fnmatch.fnmatch(w, p) for w in written)]
    if missing:
        raise SystemExit(f"{pkg.name}@{pkg.version}: nothing matched {missing}; update tools/vendor_js.py.")
    return sorted(written)


def expected_manifest() -> dict:
    return {p.name: {"version": p.version, "integrity": p.integrity, "license": p.license_id,
                     "folder": p.dest} for p in PACKAGES}


def read_manifest(vendor: Path = VENDOR) -> dict:
    try:
        return json.loads((vendor / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def is_current(vendor: Path = VENDOR) -> bool:
    """True when ``vendor`` holds exactly the pinned packages and all their files."""
    manifest = read_manifest(vendor)
    if {k: {f: v[f] for f in ("version", "integrity", "license", "folder")} for k, v in manifest.items()} \
            != expected_manifest():
        return False
    return all((vendor / entry["folder"] / f).is_file() for entry in manifest.values() for f in entry["files"])


def vendor(dest: Path = VENDOR) -> None:
    """Download, verify and extract every pinned package into ``dest`` (replacing what is there)."""
    if is_current(dest):
        print(f"{dest} is up to date: " + ", ".join(f"{p.name}@{p.version}" for p in PACKAGES))
        return
    manifest = {}
    for pkg in PACKAGES:
        data = fetch(pkg)
        folder = dest / pkg.dest
        if folder.exists():
            shutil.rmtree(folder)
        files = extract(pkg, data, folder)
        manifest[pkg.name] = {**expected_manifest()[pkg.name], "url": pkg.url, "files": files}
        size = sum((folder / f).stat().st_size for f in files)
        print(f"{pkg.name}@{pkg.version} ({pkg.license_id}): {len(files)} files, {size / 1e6:.1f} MB -> {folder}")
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that vendor/ is current")
    parser.add_argument("--dest", type=Path, default=VENDOR, help="target folder (default: vendor/)")
    args = parser.parse_args(argv)
    if args.check:
        ok = is_current(args.dest)
        print(f"{args.dest}: " + ("up to date" if ok else "missing or stale; run python tools/vendor_js.py"))
        return 0 if ok else 1
    vendor(args.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
