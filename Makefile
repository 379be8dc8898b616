# ecocorridor: the two commands of the README.
#   make demo   set up, build and run the main job on the bundled demo landscape
#   make test   set up and run every test (unit, property, integration, GDAL interop)
CARGO ?= cargo

.PHONY: setup demo test lint

setup:
	@bash scripts/setup.sh

demo: setup
	$(CARGO) build --release
	./target/release/ecocorridor validate models/demo.toml
	./target/release/ecocorridor run models/demo.toml --force

test: setup
	$(CARGO) test

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
