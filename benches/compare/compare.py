#!/usr/bin/env python3
"""Side by side: ecocorridor `costdist` against scikit-image `MCP_Geometric` and GRASS `r.cost`
on the same resistance raster, measured in one run on one machine. Not part of CI.

Installs its peers first when they are missing (as root: `apt-get install grass-core gdal-bin`,
`pip install scikit-image numpy`) and builds ecocorridor in release mode.

Usage:
  python3 benches/compare/compare.py [--size 4000] [--seed 42] [--repeat 3]
  python3 benches/compare/compare.py --raster R.tif --source ROW,COL

Without --raster it makes a synthetic landscape with `ecocorridor synth`, its resistance
surface with `ecocorridor resistance` (cells outside the study area get resistance 1000, so
every tool sees a fully passable raster) and puts one source cell at the centre. With --raster
the given resistance raster is used as it is (nodata cells impassable for every tool).

What is timed (best of --repeat runs, all tools on the same file):
- ecocorridor: the cost-distance computation it reports (reading and writing excluded), and
  the whole command (reading the GeoTIFFs, computing, writing the result);
- scikit-image: `MCP_Geometric(...).find_costs` on the array already in memory;
- GRASS: the whole `r.cost` module on the raster already imported (`r.in.gdal` excluded), with
  8 neighbours (no knight's move, as ecocorridor) and memory=8000 MB so it never segments to
  disk.
All three use the same move rule (cell size x mean of the two resistances, x sqrt 2 for
diagonals; r.cost counts the step in cells, so its costs are multiplied by the cell size before
they are compared); the script checks the results agree (largest relative difference) and fails above
1e-5.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "target", "release", "ecocorridor")


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def install_peers():
    apt = [p for p, exe in (("grass-core", "grass"), ("gdal-bin", "gdal_translate")) if not shutil.which(exe)]
    if apt:
        prefix = [] if os.geteuid() == 0 else ["sudo"]
        print(f"installing {' '.join(apt)} (apt)", file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(prefix + ["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(prefix + ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + apt, check=True, env=env)
    try:
        import numpy  # noqa: F401
        import skimage  # noqa: F401
    except ImportError:
        print("installing scikit-image numpy (pip)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "scikit-image", "numpy"], check=True)
    print("building ecocorridor (release)", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release", "-q", "--manifest-path", os.path.join(ROOT, "Cargo.toml")], check=True)


def to_numpy(tif, tmp, dtype, gdal_type):
    import numpy as np

    raw = os.path.join(tmp, os.path.basename(tif) + ".raw")
    sh("gdal_translate", "-q", "-of", "ENVI", "-ot", gdal_type, tif, raw)
    return np.fromfile(raw, dtype=dtype)


def from_numpy(arr, like_tif, out_tif, tmp, gdal_type):
    raw = os.path.join(tmp, "tmp_" + os.path.basename(out_tif) + ".raw")
    sh("gdal_translate", "-q", "-of", "ENVI", "-ot", gdal_type, like_tif, raw)
    arr.tofile(raw)
    sh("gdal_translate", "-q", "-of", "GTiff", "-co", "COMPRESS=DEFLATE", raw, out_tif)


def grid_of(tif):
    info = sh("gdalinfo", tif).stdout
    cols, rows = (int(v) for v in re.search(r"Size is (\d+), (\d+)", info).groups())
    x0, y0 = (float(v) for v in re.search(r"Origin = \(([-0-9.e+]+),([-0-9.e+]+)\)", info).groups())
    cs = float(re.search(r"Pixel Size = \(([0-9.e+]+),", info).group(1))
    nodata = re.search(r"NoData Value=(\S+)", info)
    return rows, cols, x0, y0, cs, (float(nodata.group(1)) if nodata else None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--raster", help="a real resistance raster instead of a synthetic one")
    ap.add_argument("--source", help="ROW,COL of the source cell (with --raster)")
    ap.add_argument("--no-install", action="store_true", help="do not install or build anything")
    a = ap.parse_args()
    if not a.no_install:
        install_peers()
    import numpy as np
    from skimage.graph import MCP_Geometric

    with tempfile.TemporaryDirectory() as tmp:
        res_tif = os.path.join(tmp, "res.tif")
        if a.raster:
            sh("gdal_translate", "-q", "-ot", "Float32", a.raster, res_tif)
            rows, cols, x0, y0, cs, nodata = grid_of(res_tif)
            row, col = (int(v) for v in a.source.split(","))
        else:
            n = a.size
            land = os.path.join(tmp, "land")
            sh(BIN, "-q", "synth", "--rows", str(n), "--cols", str(n), "--seed", str(a.seed), "--out", land)
            sh(BIN, "-q", "resistance", os.path.join(land, "scenario.toml"), "--out", land)
            res = to_numpy(os.path.join(land, "resistance.tif"), tmp, np.float32, "Float32")
            res[(res <= 0) | ~np.isfinite(res)] = 1000.0
            from_numpy(res, os.path.join(land, "resistance.tif"), res_tif, tmp, "Float32")
            rows, cols, x0, y0, cs, nodata = grid_of(res_tif)
            row, col = rows // 2, cols // 2
        res = to_numpy(res_tif, tmp, np.float32, "Float32").reshape(rows, cols).astype(np.float64)
        if nodata is not None:
            res[res == nodata] = np.inf
        src = np.zeros(rows * cols, dtype=np.uint32)
        src[row * cols + col] = 1
        src_tif = os.path.join(tmp, "src.tif")
        from_numpy(src, res_tif, src_tif, tmp, "UInt32")
        cells = rows * cols

        # ecocorridor, on one thread and on two (strips of rows): the same file both ways.
        def ours_best(threads, out):
            compute, whole = [], []
            for _ in range(a.repeat):
                t0 = time.perf_counter()
                p = sh(BIN, "costdist", "--threads", str(threads), "--resistance", res_tif, "--sources", src_tif, "--out", out)
                whole.append(time.perf_counter() - t0)
                compute.append(float(re.search(r"cost distance: ([0-9.]+) s", p.stderr).group(1)))
            return compute, whole

        out = os.path.join(tmp, "cwd.tif")
        ours_compute, ours_whole = ours_best(1, out)
        ours = to_numpy(out, tmp, np.float32, "Float32").astype(np.float64).reshape(rows, cols)
        ours[~np.isfinite(ours) | (ours < 0)] = np.inf
        out2 = os.path.join(tmp, "cwd2.tif")
        two_compute, two_whole = ours_best(2, out2)
        with open(out, "rb") as f1, open(out2, "rb") as f2:
            if f1.read() != f2.read():
                sys.exit("costdist with 2 threads wrote a different file than with 1")

        # scikit-image
        sk_t = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            cum, _ = MCP_Geometric(res, fully_connected=True, sampling=(cs, cs)).find_costs([(row, col)])
            sk_t.append(time.perf_counter() - t0)

        # GRASS r.cost
        loc = os.path.join(tmp, "grassloc")
        sh("grass", "-c", res_tif, "-e", loc)
        mapset = os.path.join(loc, "PERMANENT")
        sh("grass", mapset, "--exec", "r.in.gdal", "-o", "--quiet", f"input={res_tif}", "output=res")
        sh("grass", mapset, "--exec", "g.region", "raster=res")
        x = x0 + (col + 0.5) * cs
        y = y0 - (row + 0.5) * cs
        script = os.path.join(tmp, "rcost.sh")
        with open(script, "w") as f:
            f.write(
                "#!/bin/sh\nset -e\n"
                "t0=$(date +%s.%N)\n"
                f"r.cost --quiet --overwrite input=res output=cwd start_coordinates={x},{y} memory=8000\n"
                "t1=$(date +%s.%N)\n"
                "echo \"rcost_seconds $t0 $t1\"\n"
            )
        os.chmod(script, 0o755)
        gr_t = []
        for _ in range(a.repeat):
            p = sh("grass", mapset, "--exec", script)
            t0, t1 = re.search(r"rcost_seconds ([0-9.]+) ([0-9.]+)", p.stdout + p.stderr).groups()
            gr_t.append(float(t1) - float(t0))
        gout = os.path.join(tmp, "grass_cwd.tif")
        sh("grass", mapset, "--exec", "r.out.gdal", "--quiet", "-c", "input=cwd", f"output={gout}", "type=Float64", "nodata=-1")
        gr = to_numpy(gout, tmp, np.float64, "Float64").reshape(rows, cols)
        gr[gr < 0] = np.inf
        # r.cost counts distance in cells (an east-west step is 1), ecocorridor in metres.
        gr *= cs

        def diff(other):
            both = np.isfinite(ours) & np.isfinite(other)
            if not np.array_equal(np.isfinite(ours), np.isfinite(other)):
                sys.exit("the tools reach different cells")
            return (np.abs(ours[both] - other[both]) / np.maximum(other[both], 1.0)).max()

        d_sk, d_gr = diff(cum), diff(gr)
        oc, ow, sk, g = min(ours_compute), min(ours_whole), min(sk_t), min(gr_t)
        src_desc = a.raster or f"synthetic {a.size} x {a.size} (seed {a.seed})"
        print(f"raster: {src_desc}, {cols} x {rows} = {cells:,} cells of {cs:g} m, one source at row {row}, column {col}")
        print(f"best of {a.repeat} runs, one thread each unless said")
        print(f"ecocorridor costdist, computation: {oc:.2f} s ({cells / oc / 1e6:.1f} M cells/s)")
        print(f"ecocorridor costdist, whole command: {ow:.2f} s")
        tc, tw = min(two_compute), min(two_whole)
        print(f"ecocorridor costdist --threads 2, computation: {tc:.2f} s ({cells / tc / 1e6:.1f} M cells/s), whole command {tw:.2f} s (same file)")
        print(f"scikit-image MCP_Geometric: {sk:.2f} s ({sk / oc:.1f}x ecocorridor's computation); largest relative difference {d_sk:.1e}")
        print(f"GRASS r.cost: {g:.2f} s ({g / oc:.1f}x ecocorridor's computation, {g / ow:.1f}x its whole command); largest relative difference {d_gr:.1e}")
        if max(d_sk, d_gr) > 1e-5:
            sys.exit("results differ by more than 1e-5")


if __name__ == "__main__":
    main()
