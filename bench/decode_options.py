"""The three ways to give the focus/motion checks more than the working image, timed per 24 MP JPEG (CPU ms):

    working   ml.decode at the working size only (1/4 DCT scale): what the worker did before issue 21
    half      one decode at 1/2 scale kept as the detail image, the working image reduced from it
    region    the working decode + a second full-resolution decode cropped to the face (Pillow has no
              region decode: the entropy decoding is paid again up to the whole file)

    python bench/decode_options.py [--photos DIR] [--repeat 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _cpu_ms(fn) -> float:
    c = time.process_time()
    fn()
    return (time.process_time() - c) * 1e3


def main(argv: list[str] | None = None) -> int:
    from PIL import Image
    import io

    from ml.imaging import DETAIL_SIDE, decode

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=Path("/tmp/eyespy-bench-photos"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    files = sorted(args.photos.glob("*.jpg"))
    if not files:
        print(f"no JPEGs in {args.photos} (python bench/make_photos.py makes them)", file=sys.stderr)
        return 2

    def region(data: bytes) -> None:
        decode(data)
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            im.crop((im.width // 3, im.height // 4, 2 * im.width // 3, im.height // 2)).load()

    times = {"working": [], "half": [], "region": []}
    for _ in range(args.repeat):
        for path in files:
            data = path.read_bytes()
            times["working"].append(_cpu_ms(lambda: decode(data)))
            times["half"].append(_cpu_ms(lambda: decode(data, detail_side=DETAIL_SIDE)))
            times["region"].append(_cpu_ms(lambda: region(data)))
    base = statistics.median(times["working"])
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<8} median {med:6.1f} ms  (+{med - base:5.1f} over working)  mean {statistics.mean(values):6.1f} "
              f"+- {statistics.stdev(values):5.1f}  n={len(values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
