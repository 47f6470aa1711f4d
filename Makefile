# posekit: two commands, `make demo` and `make test`. Both run the setup first, which
# is idempotent: the second time nothing is downloaded or rebuilt.

DATA_DIR ?= $(or $(XDG_DATA_HOME),$(HOME)/.local/share)/posekit
CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/posekit
DEMO_CLIP := $(DATA_DIR)/demo/sports2d-demo.mp4
BIN := target/release/posekit
OUT := out

.PHONY: demo test setup setup-test setup-gpu build lint

## demo: set up, build, and run posekit on the Sports2D clip (result and overlay in out/)
demo: setup build
	@mkdir -p $(OUT)
	$(BIN) process $(DEMO_CLIP) -o $(OUT)/demo.poses.jsonl --render $(OUT)/demo.overlay.mp4 --overwrite
	@echo "demo: poses in $(OUT)/demo.poses.jsonl, overlay video in $(OUT)/demo.overlay.mp4"

## test: set up, then every test, formatting and lints (what CI runs)
test: setup-test
	cargo fmt --all -- --check
	cargo clippy --release --all-targets -- -D warnings
	POSEKIT_TEST_PYTHON=$(CACHE_DIR)/test-venv/bin/python POSEKIT_TEST_POSE2SIM=$(CACHE_DIR)/pose2sim-venv cargo test --release

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --with-test-tools

## setup-gpu: the GPU build of ONNX Runtime with CUDA 13 and cuDNN 9 (about 3 GB, from
## PyPI wheels) beside the CPU one; TENSORRT=1 adds TensorRT. See docs/gpu.md.
setup-gpu:
	@scripts/setup.sh --gpu

build:
	cargo build --release
