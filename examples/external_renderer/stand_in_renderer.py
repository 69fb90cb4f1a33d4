#!/usr/bin/env python3
"""A stand-in external renderer for caig-bench (renderer `external`), in plain Python.

It speaks the JSON-lines protocol of the README ("External renderer"): one request per line on
stdin, one answer per line on stdout. It does not read the product: it writes a size x size PNG
filled with a colour derived from the description and the seed, which is enough to exercise the
protocol (the tests use it). A real renderer, e.g. Stable Diffusion + ControlNet inpainting with
diffusers, replaces the drawing (see README.md beside this file).

Options for the tests: --crash-after N (exit 3 after N answers), --hang (never answer),
--no-image (answer with a path that does not exist), --half-size (write the wrong size).
"""
import hashlib
import json
import struct
import sys
import time
import zlib


def write_png(path, size, rgb):
    row = b"\x00" + bytes(rgb) * size
    raw = row * size

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main():
    args = sys.argv[1:]
    crash_after = int(args[args.index("--crash-after") + 1]) if "--crash-after" in args else -1
    answered = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        if "--hang" in args:
            time.sleep(3600)
        if answered == crash_after:
            sys.stderr.write("stand-in renderer: crashing as asked\n")
            sys.exit(3)
        q = json.loads(line)
        size = q["size"] // 2 if "--half-size" in args else q["size"]
        digest = hashlib.sha256((q["description"] + str(q["seed"])).encode()).digest()
        out = q["output"]
        if "--no-image" in args:
            out = out + ".missing.png"
        else:
            write_png(out, size, digest[:3])
        sys.stdout.write(json.dumps({"id": q["id"], "image": out}) + "\n")
        sys.stdout.flush()
        answered += 1


if __name__ == "__main__":
    main()
