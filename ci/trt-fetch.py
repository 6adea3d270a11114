#!/usr/bin/env python3
"""TensorRT's native libraries for a GPU machine, without downloading the 556 MB redist jar.

  ci/trt-fetch.py list                       sizes of every entry of the redist jar (reads only its zip directory)
  ci/trt-fetch.py fetch DIR [--part-mib 60] [--only NAME ...]
                                             downloads the needed entries' compressed bytes with HTTP range requests
                                             into DIR/parts/ in pieces of at most --part-mib MiB, plus DIR/manifest.json
  ci/trt-fetch.py assemble DIR LIBDIR        (GPU machine) joins the pieces, inflates, checks size and CRC-32,
                                             writes LIBDIR/<lib> (pieces may be deleted afterwards)

Needed (see ci/README.md "TensorRT"): libnvinfer.so.11, libnvinfer_builder_resource_ptx.so.11.2.1,
libnvonnxparser.so.11, libnvinfer_plugin.so.11 (the presets' parser JNI links it). Not needed: libnvinfer_vc_plugin.
"""
import io, json, os, struct, sys, urllib.request, zlib

URL = os.environ.get("TRT_REDIST_URL", "https://repo1.maven.org/maven2/org/bytedeco/tensorrt/11.2-1.5.14/"
                     "tensorrt-11.2-1.5.14-linux-x86_64-redist.jar")
PREFIX = "org/bytedeco/tensorrt/linux-x86_64/"
NEEDED = ["libnvinfer.so.11", "libnvinfer_builder_resource_ptx.so.11.2.1", "libnvonnxparser.so.11", "libnvinfer_plugin.so.11"]


def get(start, end):
    r = urllib.request.Request(URL, headers={"Range": "bytes=%d-%d" % (start, end)})
    with urllib.request.urlopen(r) as f:
        return f.read()


def size():
    with urllib.request.urlopen(urllib.request.Request(URL, method="HEAD")) as f:
        return int(f.headers["Content-Length"])


def directory():
    n = size()
    tail = get(max(0, n - 65557), n - 1)
    i = tail.rfind(b"PK\x05\x06")
    if i < 0:
        sys.exit("trt-fetch: no zip end record in " + URL)
    _, _, _, _, count, cd_size, cd_off, _ = struct.unpack("<IHHHHIIH", tail[i:i + 22])
    cd = get(cd_off, cd_off + cd_size - 1)
    out, p = {}, 0
    for _ in range(count):
        (sig, _, _, _, method, _, _, crc, csize, usize, nlen, xlen, clen, _, _, _, off) = struct.unpack("<IHHHHHHIIIHHHHHII", cd[p:p + 46])
        name = cd[p + 46:p + 46 + nlen].decode()
        out[name] = dict(method=method, crc=crc, compressed=csize, size=usize, offset=off)
        p += 46 + nlen + xlen + clen
    return out


def fetch(d, part_mib, only):
    ents = directory()
    names = only or NEEDED
    os.makedirs(os.path.join(d, "parts"), exist_ok=True)
    manifest = []
    part = part_mib << 20
    for name in names:
        e = ents[PREFIX + name]
        h = get(e["offset"], e["offset"] + 29)
        nlen, xlen = struct.unpack("<HH", h[26:30])
        start = e["offset"] + 30 + nlen + xlen
        pieces = []
        for k, s in enumerate(range(start, start + e["compressed"], part)):
            stop = min(start + e["compressed"], s + part) - 1
            fn = "%s.part%03d" % (name, k)
            path = os.path.join(d, "parts", fn)
            if not (os.path.exists(path) and os.path.getsize(path) == stop - s + 1):
                with open(path + ".tmp", "wb") as f:
                    for c in range(s, stop + 1, 8 << 20):
                        f.write(get(c, min(stop, c + (8 << 20) - 1)))
                os.replace(path + ".tmp", path)
            pieces.append(fn)
            print("fetched %s (%d bytes)" % (fn, stop - s + 1), flush=True)
        manifest.append(dict(name=name, method=e["method"], crc=e["crc"], size=e["size"], compressed=e["compressed"], parts=pieces))
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print("manifest: %s; %d pieces, %d compressed bytes" % (os.path.join(d, "manifest.json"),
          sum(len(m["parts"]) for m in manifest), sum(m["compressed"] for m in manifest)))


def assemble(d, libdir):
    with open(os.path.join(d, "manifest.json")) as f:
        manifest = json.load(f)
    os.makedirs(libdir, exist_ok=True)
    for m in manifest:
        missing = [p for p in m["parts"] if not os.path.exists(os.path.join(d, "parts", p))]
        if missing:
            sys.exit("trt-fetch: %s: pieces not here yet: %s" % (m["name"], ", ".join(missing)))
        z = zlib.decompressobj(-15) if m["method"] == 8 else None
        crc, n, out = 0, 0, os.path.join(libdir, m["name"])
        with open(out + ".tmp", "wb") as w:
            for p in m["parts"]:
                with open(os.path.join(d, "parts", p), "rb") as r:
                    while True:
                        b = r.read(8 << 20)
                        if not b:
                            break
                        b = z.decompress(b) if z else b
                        crc, n = zlib.crc32(b, crc), n + len(b)
                        w.write(b)
            if z:
                b = z.flush()
                crc, n = zlib.crc32(b, crc), n + len(b)
                w.write(b)
        if n != m["size"] or crc != m["crc"]:
            os.remove(out + ".tmp")
            sys.exit("trt-fetch: %s: size %d crc %08x, expected %d %08x" % (m["name"], n, crc, m["size"], m["crc"]))
        os.replace(out + ".tmp", out)
        print("assembled %s (%d bytes, CRC ok)" % (out, n))


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[:1] == ["list"]:
        for k, v in sorted(directory().items(), key=lambda kv: -kv[1]["size"]):
            if v["size"]:
                print("%12d %12d %s" % (v["size"], v["compressed"], k))
    elif a[:1] == ["fetch"] and len(a) >= 2:
        pm = int(a[a.index("--part-mib") + 1]) if "--part-mib" in a else 60
        only = a[a.index("--only") + 1:] if "--only" in a else None
        fetch(a[1], pm, only)
    elif a[:1] == ["assemble"] and len(a) == 3:
        assemble(a[1], a[2])
    else:
        print(__doc__)
        sys.exit(2)
