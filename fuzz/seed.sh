#!/usr/bin/env bash
# Seeds the fuzz corpora from the demo data and the test fixtures. Each seed starts with the
# byte that selects the input kind in the target (see fuzz_targets/*.rs).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/raster_file corpus/geojson corpus/tables
small=$(mktemp -d)
../target/release/ecocorridor synth --rows 24 --cols 24 --seed 3 --out "$small" --quiet
k=0
for f in "$small"/*.tif ../inputs/demo/slope.tif; do
  { printf '\x00'; cat "$f"; } > corpus/raster_file/tif$k; k=$((k+1))
done
for f in ../tests/fixtures/*.asc ../tests/fixtures/*.grassascii; do
  { printf '\x01'; cat "$f"; } > corpus/raster_file/asc$k; k=$((k+1))
done
for f in "$small"/*.geojson; do cp "$f" corpus/geojson/; done
{ printf '\x00'; cat ../models/landcover_classes.csv; } > corpus/tables/classes
{ printf '\x01'; cat ../models/demo.toml; } > corpus/tables/scenario
{ printf '\x01'; cat "$small/scenario.toml"; } > corpus/tables/scenario_synth
printf '\x02site_id,cost_yuan,area_ha,carbon_tco2e,benefit,zone,district,locked,excludes\nA,100,1,10,0,,east,,B\nB,200,2,30,0,permanent_farmland,west,in,\n' > corpus/tables/sites
printf '\x03patch_id,area_ha\n1,10\n2,20\n' > corpus/tables/patches
rm -rf "$small"
echo "seeded: $(ls corpus/raster_file | wc -l) rasters, $(ls corpus/geojson | wc -l) layers, $(ls corpus/tables | wc -l) tables"
