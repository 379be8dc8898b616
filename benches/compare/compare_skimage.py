#!/usr/bin/env python3
"""Side-by-side: ecocorridor `costdist` vs scikit-image `MCP_Geometric` on the same raster.

Not part of CI. Needs gdal-bin (make setup) and `pip install scikit-image numpy`.
Usage: python3 benches/compare/compare_skimage.py [--size 4000] [--seed 42]
       python3 benches/compare/compare_skimage.py --raster R.asc|R.tif --source ROW,COL

With --raster, the given real resistance raster is used as it is (nodata impassable for both
tools: infinite cost for scikit-image, nodata for ecocorridor) with one source cell at ROW,COL.
Otherwise it makes a synthetic landscape with `ecocorridor synth`, its resistance surface with
`ecocorridor resistance` (cells outside the study area get resistance 1000, so both tools see
a fully passable raster), puts one source cell at the centre, and times only the cost-distance
computation of each tool (ecocorridor reports its compute time; file reading and writing are
excluded on both sides). It then checks that both give the same costs (relative error).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
from skimage.graph import MCP_Geometric

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "target", "release", "ecocorridor")


def sh(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True)


def to_numpy(tif, tmp, dtype, gdal_type):
    raw = os.path.join(tmp, os.path.basename(tif) + ".raw")
    sh("gdal_translate", "-q", "-of", "ENVI", "-ot", gdal_type, tif, raw)
    return np.fromfile(raw, dtype=dtype)


def from_numpy(arr, like_tif, out_tif, tmp, gdal_type):
    raw = os.path.join(tmp, "tmp_" + os.path.basename(out_tif) + ".raw")
    sh("gdal_translate", "-q", "-of", "ENVI", "-ot", gdal_type, like_tif, raw)
    arr.tofile(raw)
    sh("gdal_translate", "-q", "-of", "GTiff", "-co", "COMPRESS=DEFLATE", raw, out_tif)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--raster", help="a real resistance raster instead of a synthetic one")
    ap.add_argument("--source", help="ROW,COL of the source cell (with --raster)")
    a = ap.parse_args()
    if not os.path.exists(BIN):
        sh("cargo", "build", "--release", "--manifest-path", os.path.join(ROOT, "Cargo.toml"))
    if a.raster:
        return real(a)
    n = a.size
    with tempfile.TemporaryDirectory() as tmp:
        land = os.path.join(tmp, "land")
        sh(BIN, "synth", "--rows", str(n), "--cols", str(n), "--seed", str(a.seed), "--out", land, "-q")
        sh(BIN, "resistance", os.path.join(land, "scenario.toml"), "--out", land, "-q")
        res = to_numpy(os.path.join(land, "resistance.tif"), tmp, np.float32, "Float32")
        res[(res <= 0) | ~np.isfinite(res)] = 1000.0
        res_tif = os.path.join(tmp, "res.tif")
        from_numpy(res, os.path.join(land, "resistance.tif"), res_tif, tmp, "Float32")
        src = np.zeros(n * n, dtype=np.uint32)
        centre = (n // 2, n // 2)
        src[centre[0] * n + centre[1]] = 1
        src_tif = os.path.join(tmp, "src.tif")
        from_numpy(src, os.path.join(land, "resistance.tif"), src_tif, tmp, "UInt32")

        out = os.path.join(tmp, "cwd.tif")
        p = sh(BIN, "costdist", "--resistance", res_tif, "--sources", src_tif, "--out", out)
        ours_s = float(re.search(r"cost distance: ([0-9.]+) s", p.stderr).group(1))
        ours = to_numpy(out, tmp, np.float32, "Float32").astype(np.float64).reshape(n, n)

        costs = res.astype(np.float64).reshape(n, n)
        t0 = time.perf_counter()
        m = MCP_Geometric(costs, fully_connected=True, sampling=(30.0, 30.0))
        cum, _ = m.find_costs([centre])
        sk_s = time.perf_counter() - t0

        rel = np.abs(ours - cum) / np.maximum(cum, 1.0)
        print(f"raster: {n} x {n} = {n * n} cells, one source at the centre, 8 neighbours")
        print(f"ecocorridor costdist: {ours_s:.2f} s ({n * n / ours_s / 1e6:.1f} M cells/s)")
        print(f"scikit-image MCP_Geometric: {sk_s:.2f} s ({n * n / sk_s / 1e6:.1f} M cells/s)")
        print(f"ratio (scikit-image / ecocorridor): {sk_s / ours_s:.1f}x")
        print(f"largest relative difference: {rel.max():.2e}")
        if rel.max() > 1e-5:
            sys.exit("results differ by more than 1e-5")


def real(a):
    row, col = (int(v) for v in a.source.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        tif = os.path.join(tmp, "res.tif")
        sh("gdal_translate", "-q", "-ot", "Float32", a.raster, tif)
        info = sh("gdalinfo", tif).stdout
        cols, rows = (int(v) for v in re.search(r"Size is (\d+), (\d+)", info).groups())
        cs = float(re.search(r"Pixel Size = \(([0-9.]+),", info).group(1))
        nodata = re.search(r"NoData Value=(\S+)", info)
        res = to_numpy(tif, tmp, np.float32, "Float32").reshape(rows, cols).astype(np.float64)
        if nodata:
            res[res == float(nodata.group(1))] = np.inf
        src = np.zeros(rows * cols, dtype=np.uint32)
        src[row * cols + col] = 1
        src_tif = os.path.join(tmp, "src.tif")
        from_numpy(src, tif, src_tif, tmp, "UInt32")
        out = os.path.join(tmp, "cwd.tif")
        p = sh(BIN, "costdist", "--resistance", tif, "--sources", src_tif, "--out", out)
        ours_s = float(re.search(r"cost distance: ([0-9.]+) s", p.stderr).group(1))
        ours = to_numpy(out, tmp, np.float32, "Float32").astype(np.float64).reshape(rows, cols)
        ours[ours == -9999.0] = np.inf
        t0 = time.perf_counter()
        cum, _ = MCP_Geometric(res, fully_connected=True, sampling=(cs, cs)).find_costs([(row, col)])
        sk_s = time.perf_counter() - t0
        both = np.isfinite(cum) & np.isfinite(ours)
        assert np.array_equal(np.isfinite(cum), np.isfinite(ours)), "the tools reach different cells"
        rel = np.abs(ours[both] - cum[both]) / np.maximum(cum[both], 1.0)
        print(f"raster: {a.raster}, {cols} x {rows} cells of {cs} m, source at row {row}, column {col}")
        print(f"ecocorridor costdist: {ours_s:.3f} s; scikit-image MCP_Geometric: {sk_s:.3f} s; ratio {sk_s / max(ours_s, 1e-9):.1f}x")
        print(f"cells compared: {both.sum()}; largest relative difference: {rel.max():.2e}")
        if rel.max() > 1e-5:
            sys.exit("results differ by more than 1e-5")


if __name__ == "__main__":
    main()
