#!/usr/bin/env python3
"""Make the two small fonts bundled in the binary for map.png and pareto.png.

- assets/fonts/latin.ttf: DejaVu Sans (Bitstream Vera licence), printable ASCII and a few
  symbols.
- assets/fonts/cjk.ttf: Droid Sans Fallback (Apache-2.0), only the Chinese characters that the
  labels in src/ and the bundled class table use.

Run again after adding Chinese labels (a unit test in src/map.rs fails until you do):
    pip install fonttools && python3 scripts/font_subset.py
Sources: Debian packages fonts-dejavu-core and fonts-droid-fallback.
"""
import pathlib
import re

from fontTools import subset

ROOT = pathlib.Path(__file__).resolve().parent.parent
LATIN = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CJK = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"

text = ""
for path in list((ROOT / "src").rglob("*.rs")) + [ROOT / "models" / "landcover_classes.csv"]:
    text += path.read_text(encoding="utf-8")
cjk = sorted({c for c in text if ord(c) > 0x2E7F})
latin = "".join(chr(c) for c in range(0x20, 0x7F)) + "°²³×·–—⁻₂ "


def make(src, chars, out):
    opts = subset.Options()
    opts.layout_features = []
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    opts.hinting = False
    font = subset.load_font(src, opts)
    s = subset.Subsetter(opts)
    s.populate(text="".join(chars))
    s.subset(font)
    subset.save_font(font, str(out), opts)
    print(f"{out.relative_to(ROOT)}: {len(chars)} characters, {out.stat().st_size} bytes")


make(LATIN, latin, ROOT / "assets" / "fonts" / "latin.ttf")
make(CJK, cjk, ROOT / "assets" / "fonts" / "cjk.ttf")
