#!/usr/bin/env python3
"""Make the two small fonts bundled in the binary for map.png and pareto.png.

- assets/fonts/latin.ttf: DejaVu Sans (Bitstream Vera licence), printable ASCII and a few
  symbols.
- assets/fonts/cjk.ttf: Droid Sans Fallback (Apache-2.0): the 3,755 characters of GB 2312
  level 1 (the common hanzi: place names, scenario descriptions, class names) and every other
  Chinese character the labels in src/ and the bundled class table use, plus CJK punctuation.

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
# GB 2312 level 1: rows 0xB0-0xD7, columns 0xA1-0xFE (row 0xD7 ends at 0xF9).
level1 = set()
for hi in range(0xB0, 0xD8):
    for lo in range(0xA1, 0xFF):
        try:
            level1.add(bytes([hi, lo]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
punct = set("，。、；：？！“”‘’（）《》【】—…·")
cjk = sorted({c for c in text if ord(c) > 0x2E7F} | level1 | punct)
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
