"""Pack a compact copy of the training and validation photos for a device session.

The device machine sees only the repository (at most 64 MiB travel with a call),
so the photos go as JPEG (quality 92, longer side at most 640 px) into the
ignored folder ``.carry/data``, one sub-folder per source folder so that model
cards name the same data sets. Validation: the first CBSD68 photos, lossless,
and the benchmark blur kernels (``.carry/kernels``: validation only, never trained on).

    python tools/pack_data.py [--shared ../shared/data] [--out .carry/data]
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image

TRAIN = ["bsds500_train", "bsds500_test", "div2k_valid_crop256", "sunhays80", "t91"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--out", default=".carry/data")
    ap.add_argument("--max-side", type=int, default=640)
    ap.add_argument("--quality", type=int, default=92)
    ap.add_argument("--val", type=int, default=8, help="validation photos from val/cbsd68")
    args = ap.parse_args()
    shared, out = Path(args.shared), Path(args.out)
    total = 0
    for name in TRAIN:
        dst = out / name
        dst.mkdir(parents=True, exist_ok=True)
        for f in sorted((shared / "train" / name).iterdir()):
            im = Image.open(f).convert("RGB")
            s = args.max_side / max(im.size)
            if s < 1:
                im = im.resize((round(im.width * s), round(im.height * s)), Image.LANCZOS)
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=args.quality, subsampling=0)
            (dst / (f.stem + ".jpg")).write_bytes(buf.getvalue())
            total += buf.tell()
    val = out / "val_cbsd68"
    val.mkdir(parents=True, exist_ok=True)
    for f in sorted((shared / "val" / "cbsd68").iterdir())[: args.val]:
        data = f.read_bytes()
        (val / f.name).write_bytes(data)
        total += len(data)
    kernels = out.parent / "kernels"
    kernels.mkdir(parents=True, exist_ok=True)
    for f in sorted((shared / "kernels").glob("*.npz")):
        (kernels / f.name).write_bytes(f.read_bytes())
        total += f.stat().st_size
    print(f"packed {total / 2**20:.1f} MiB into {out}")


if __name__ == "__main__":
    main()
