#!/usr/bin/env python3
"""Side by side: ecocorridor `circuit` (AMG-preconditioned conjugate gradients, and the sparse
factor) against pyamg's smoothed-aggregation AMG with conjugate gradients on the same Laplacian,
measured in one run on one machine. Not part of CI.

Installs pyamg, scipy and numpy with pip when they are missing and builds ecocorridor in release
mode.

Usage:
  python3 benches/compare/circuit_amg.py [--size 2000] [--seed 7] [--all-pairs]

The landscape: resistance 1-100 in blobs of 25 x 25 cells (1 + 99 u^2, u uniform per blob),
5 % of the cells nodata, 10 focal regions of 5 x 5 cells (resistance 1), written as ESRI ASCII
grids. ecocorridor reads them and builds its network; this script builds the same network in
numpy by Circuitscape's conventions (8 neighbours, conductance (1/R_a + 1/R_b)/2, diagonals
/ sqrt 2, each region's cells shorted into one node, the part of the network that holds
regions 1 and 2), grounds region 2 and injects 1 A at region 1, as `circuit --pairs` with the
single pair 1-2 does, and solves it with pyamg (setup, then CG to a relative residual of 1e-10,
ecocorridor's tolerance) with its defaults and with the strength threshold ecocorridor uses
(0.05). Both effective resistances must agree to 1e-6.

What is timed: for ecocorridor, the linear algebra it reports (`circuit` prints the time to
prepare the solver, i.e. assemble the matrix and build the AMG hierarchy or the factor, and the
time of the solves) and the whole command (reading, network, solving, writing
current.tif and voltages.tif); for pyamg, the setup and the solve. Peak memory of each
ecocorridor command from GNU time (`/usr/bin/time`, Debian package `time`). With --all-pairs, the
ecocorridor commands also run all 45 pairs (9 right-hand sides).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "target", "release", "ecocorridor")


def install():
    try:
        import numpy  # noqa: F401
        import pyamg  # noqa: F401
        import scipy  # noqa: F401
    except ImportError:
        print("installing pyamg scipy numpy (pip)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pyamg", "scipy", "numpy"], check=True)
    print("building ecocorridor (release)", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)


def landscape(side, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    coarse = side // 25 + 2
    field = rng.random((coarse, coarse))
    yy, xx = np.mgrid[0:side, 0:side]
    u = field[yy // 25, xx // 25]
    res = 1.0 + 99.0 * u * u
    res[rng.random((side, side)) < 0.05] = np.nan
    regions = np.zeros((side, side), dtype=np.int64)
    for k in range(1, 11):
        cy, cx = rng.integers(0, side - 10, size=2)
        regions[cy:cy + 5, cx:cx + 5] = k
        res[cy:cy + 5, cx:cx + 5] = 1.0
    return res, regions


def write_asc(path, a, fmt, nodata=None):
    import numpy as np

    rows, cols = a.shape
    with open(path, "w") as f:
        f.write(f"ncols {cols}\nnrows {rows}\nxllcorner 0\nyllcorner 0\ncellsize 25\n")
        if nodata is not None:
            f.write(f"NODATA_value {nodata}\n")
            a = np.where(np.isnan(a), nodata, a)
        np.savetxt(f, a, fmt=fmt)


def laplacian(res, regions):
    """The grounded Laplacian of the part holding regions 1 and 2 (region 2 grounded), and
    the row of region 1."""
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    side_r, side_c = res.shape
    alive = np.isfinite(res) & (res > 0)
    node = -np.ones(res.shape, dtype=np.int64)
    free = alive & (regions == 0)
    nfree = int(free.sum())
    node[free] = np.arange(nfree)
    nreg = int(regions.max())
    for k in range(1, nreg + 1):
        node[alive & (regions == k)] = nfree + k - 1
    n = nfree + nreg
    cond = np.where(alive, 1.0 / np.where(alive, res, 1.0), 0.0)
    rows, cols, vals = [], [], []
    for dy, dx, w in ((0, 1, 1.0), (1, 0, 1.0), (1, 1, 2 ** -0.5), (1, -1, 2 ** -0.5)):
        ya, yb = slice(0, side_r - dy), slice(dy, side_r)
        xa, xb = (slice(0, side_c - dx), slice(dx, side_c)) if dx >= 0 else (slice(-dx, side_c), slice(0, side_c + dx))
        a, b = node[ya, xa], node[yb, xb]
        m = (a >= 0) & (b >= 0) & (a != b)
        g = w * 0.5 * (cond[ya, xa] + cond[yb, xb])
        rows.append(a[m])
        cols.append(b[m])
        vals.append(g[m])
    r, c, g = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    W = sp.coo_matrix((g, (r, c)), shape=(n, n)).tocsr()
    W = (W + W.T).tocsr()
    _, comp = connected_components(W, directed=False)
    r1, r2 = nfree, nfree + 1
    if comp[r1] != comp[r2]:
        sys.exit("regions 1 and 2 are not connected; try another --seed")
    keep = np.flatnonzero((comp == comp[r1]) & (np.arange(n) != r2))
    L = (sp.diags(np.asarray(W.sum(axis=1)).ravel()) - W).tocsr()
    L = L[keep][:, keep].tocsr()
    return L, int(np.searchsorted(keep, r1))


def run_ours(tmp, solver, pairs):
    out = os.path.join(tmp, f"out_{solver}")
    t0 = time.perf_counter()
    p = subprocess.run(
        ["/usr/bin/time", "-f", "MAXRSS_KIB %M", BIN, "circuit", "--resistance", os.path.join(tmp, "res.asc"), "--sources", os.path.join(tmp, "regions.asc"),
         "--pairs", pairs, "--solver", solver, "--out", out],
        check=True, capture_output=True, text=True)
    whole = time.perf_counter() - t0
    peak = int(re.search(r"MAXRSS_KIB (\d+)", p.stderr).group(1)) * 1024
    m = re.search(r"\(([0-9.]+) s to prepare, ([0-9.]+) s to solve\)", p.stderr + p.stdout)
    prep, solve = float(m.group(1)), float(m.group(2))
    with open(os.path.join(out, "resistances.csv"), encoding="utf-8-sig") as f:
        next(f)
        r12 = next(float(line.split(",")[2]) for line in f if line.split(",")[:2] == ["1", "2"])
    return whole, (prep, solve), r12, peak


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--all-pairs", action="store_true", help="also run all 45 pairs with each ecocorridor solver")
    ap.add_argument("--no-install", action="store_true")
    a = ap.parse_args()
    if not a.no_install:
        install()
    import numpy as np
    import pyamg

    res, regions = landscape(a.size, a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        write_asc(os.path.join(tmp, "res.asc"), res, "%.6f", nodata=-9999)
        write_asc(os.path.join(tmp, "regions.asc"), regions, "%d")
        one = os.path.join(tmp, "pair.txt")
        with open(one, "w") as f:
            f.write("1 2\n")
        L, src = laplacian(res, regions)
        print(f"landscape {a.size} x {a.size} (seed {a.seed}); the system of pair 1-2: {L.shape[0]:,} unknowns, {L.nnz:,} nonzeros")

        # ecocorridor first (its peak memory is measured before pyamg's arrays exist in a child).
        ours = {}
        for solver in ("amg", "cholesky"):
            ours[solver] = run_ours(tmp, solver, one)
        allp = {}
        if a.all_pairs:
            for solver in ("amg", "cholesky"):
                allp[solver] = run_ours(tmp, solver, "all")

        b = np.zeros(L.shape[0])
        b[src] = 1.0
        py = {}
        for name, kw in (("pyamg defaults", {}), ("pyamg, strength 0.05", {"strength": ("symmetric", {"theta": 0.05})})):
            t0 = time.perf_counter()
            ml = pyamg.smoothed_aggregation_solver(L, **kw)
            t1 = time.perf_counter()
            resid = []
            x = ml.solve(b, tol=1e-10, accel="cg", maxiter=2000, residuals=resid)
            t2 = time.perf_counter()
            py[name] = (t1 - t0, t2 - t1, len(resid) - 1, x[src])

        r_ref = ours["cholesky"][2]
        print("\none pair (1-2):")
        for solver, (whole, (prep, solve), r12, peak) in ours.items():
            mem = f", peak {peak / 1e9:.2f} GB"
            print(f"  ecocorridor --solver {solver}: prepare {prep:.2f} s, solve {solve:.2f} s, together {prep + solve:.2f} s; whole command {whole:.2f} s{mem}; R = {r12:.9g}")
        worst = 0.0
        for name, (setup, solve, iters, r12) in py.items():
            print(f"  {name}: setup {setup:.2f} s, solve {solve:.2f} s ({iters} iterations), setup + solve {setup + solve:.2f} s; R = {r12:.9g}")
            worst = max(worst, abs(r12 - r_ref) / r_ref)
        prep, solve = ours["amg"][1]
        for name, (setup, psolve, _, _) in py.items():
            print(f"  {name} / ecocorridor amg: setup {setup / prep:.1f}x, solve {psolve / solve:.1f}x, together {(setup + psolve) / (prep + solve):.1f}x")
        worst = max(worst, abs(ours["amg"][2] - r_ref) / r_ref)
        print(f"  largest relative difference of R: {worst:.1e}")
        for solver, (whole, (prep, solve), _, peak) in allp.items():
            mem = f", peak {peak / 1e9:.2f} GB"
            print(f"all 45 pairs, ecocorridor --solver {solver}: prepare {prep:.2f} s, solve {solve:.2f} s; whole command {whole:.2f} s{mem}")
        if worst > 1e-6:
            sys.exit("effective resistances differ by more than 1e-6")


if __name__ == "__main__":
    main()
