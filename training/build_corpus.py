#!/usr/bin/env python3
"""Build the densessm training corpus from Debian packages (runs on the Node machine, plain Python 3).

Sources (exact versions are recorded in MANIFEST.json):
  - libpython3.11-minimal, libpython3.11-stdlib, libpython3.11-testsuite : Python 3.11 standard library *.py (code)
  - python3.11-doc : the Python documentation's reStructuredText sources (html/_sources/**/*.rst.txt)
  - linux-doc-6.1  : the Linux kernel's Documentation/ (*.rst(.gz), *.txt(.gz))

Steps: apt-get download -> dpkg-deb -x -> select files -> decode UTF-8 (skip otherwise) -> normalise newlines
-> drop exact duplicates (sha256 of the normalised content; first path in sorted order wins) -> split BY FILE with
a deterministic hash of "<package>:<path>" (sha256, first 8 hex digits mod 1000: < 30 test, < 60 validation, else
train) -> write <out>/{train,validation,test}.jsonl.xz (one JSON object per file: src, path, text).

Usage: python3 training/build_corpus.py --out .device-carry/corpus [--workdir /tmp/densessm-debs]
"""
import argparse, gzip, hashlib, json, lzma, os, subprocess, sys

PACKAGES = {
    # package: (kind, selector)
    "libpython3.11-minimal": "code",
    "libpython3.11-stdlib": "code",
    "libpython3.11-testsuite": "code",
    "python3.11-doc": "python-doc",
    "linux-doc-6.1": "linux-doc",
}
MAX_FILE_BYTES = 200_000  # very large files (generated tables, data) are skipped
MIN_FILE_BYTES = 64


def select(pkg, rel):
    """Return True if file `rel` (path inside the package) belongs in the corpus."""
    kind = PACKAGES[pkg]
    if kind == "code":
        return rel.startswith("usr/lib/python3.11/") and rel.endswith(".py") and "/site-packages/" not in rel
    if kind == "python-doc":
        return "/html/_sources/" in rel and rel.endswith(".rst.txt")
    if kind == "linux-doc":
        return "/Documentation/" in rel and (rel.endswith((".rst", ".rst.gz", ".txt", ".txt.gz")))
    return False


def split_of(key):
    h = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 1000
    return "test" if h < 30 else "validation" if h < 60 else "train"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".device-carry/corpus")
    ap.add_argument("--workdir", default="/tmp/densessm-debs")
    ap.add_argument("--manifest", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "MANIFEST.json"))
    ap.add_argument("--no-download", action="store_true", help="reuse the .deb files already in --workdir")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)
    if not a.no_download:
        subprocess.run(["apt-get", "download", *PACKAGES], cwd=a.workdir, check=True)
    debs = {}
    for f in sorted(os.listdir(a.workdir)):
        if f.endswith(".deb") and f.split("_")[0] in PACKAGES:
            debs[f.split("_")[0]] = f
    missing = set(PACKAGES) - set(debs)
    if missing:
        sys.exit(f"missing .deb for {missing}")
    manifest = {"description": "densessm corpus: Python 3.11 stdlib code + Python docs (rst) + Linux Documentation/ (rst/txt)",
                "split_rule": "sha256('<package>:<path>')[:8] as int mod 1000: <30 test, <60 validation, else train",
                "dedup": "exact sha256 of UTF-8 text after CRLF->LF; first (package, path) in sorted order kept",
                "max_file_bytes": MAX_FILE_BYTES, "min_file_bytes": MIN_FILE_BYTES, "packages": [], "splits": {}}
    seen = set()
    docs = {"train": [], "validation": [], "test": []}
    stats = {}
    for pkg in sorted(debs):
        deb = os.path.join(a.workdir, debs[pkg])
        fields = {k: subprocess.run(["dpkg-deb", "-f", deb, k], capture_output=True, text=True, check=True).stdout.strip()
                  for k in ("Package", "Version", "Architecture")}
        sha = hashlib.sha256(open(deb, "rb").read()).hexdigest()
        root = os.path.join(a.workdir, "x", pkg)
        if not os.path.isdir(root):
            os.makedirs(root)
            subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
        st = {"files": 0, "bytes": 0, "dup": 0, "skipped_size": 0, "skipped_encoding": 0}
        paths = []
        for d, _, fs in os.walk(root):
            for f in fs:
                full = os.path.join(d, f)
                if os.path.islink(full):
                    continue
                rel = os.path.relpath(full, root)
                if select(pkg, rel):
                    paths.append(rel)
        for rel in sorted(paths):
            raw = open(os.path.join(root, rel), "rb").read()
            if rel.endswith(".gz"):
                raw = gzip.decompress(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                st["skipped_encoding"] += 1
                continue
            text = text.replace("\r\n", "\n")
            nb = len(text.encode())
            if nb > MAX_FILE_BYTES or nb < MIN_FILE_BYTES:
                st["skipped_size"] += 1
                continue
            h = hashlib.sha256(text.encode()).hexdigest()
            if h in seen:
                st["dup"] += 1
                continue
            seen.add(h)
            path = rel[:-3] if rel.endswith(".gz") else rel
            sp = split_of(f"{pkg}:{path}")
            docs[sp].append({"src": pkg, "path": path, "text": text})
            st["files"] += 1
            st["bytes"] += nb
        stats[pkg] = st
        manifest["packages"].append({**{k.lower(): v for k, v in fields.items()}, "deb": debs[pkg], "deb_sha256": sha,
                                     "kind": PACKAGES[pkg], **st})
        print(pkg, fields["Version"], st, flush=True)
    for sp, ds in docs.items():
        fn = os.path.join(a.out, f"{sp}.jsonl.xz")
        with lzma.open(fn, "wt", encoding="utf-8", preset=9 | lzma.PRESET_EXTREME) as f:
            for d in ds:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
        manifest["splits"][sp] = {"files": len(ds), "bytes": sum(len(d["text"].encode()) for d in ds),
                                  "code_bytes": sum(len(d["text"].encode()) for d in ds if PACKAGES[d["src"]] == "code"),
                                  "xz_bytes": os.path.getsize(fn), "xz_sha256": hashlib.sha256(open(fn, "rb").read()).hexdigest()}
        print(sp, manifest["splits"][sp], flush=True)
    os.makedirs(os.path.dirname(a.manifest), exist_ok=True)
    old = {}
    if os.path.exists(a.manifest):  # keep token counts written by the tokenizer step if the data did not change
        old = json.load(open(a.manifest))
    for sp in manifest["splits"]:
        o = old.get("splits", {}).get(sp, {})
        if o.get("xz_sha256") == manifest["splits"][sp]["xz_sha256"] and "tokens" in o:
            manifest["splits"][sp]["tokens"] = o["tokens"]
    if "tokenizer" in old:
        manifest["tokenizer"] = old["tokenizer"]
    json.dump(manifest, open(a.manifest, "w"), indent=1)
    print("manifest ->", a.manifest)


if __name__ == "__main__":
    main()
