# pmtr — see README.md. `make run` and `make test` are the two set-up commands.

CARGO   ?= cargo
PREFIX  ?= /usr
DESTDIR ?=
SYSCONFDIR ?= /etc
export PREFIX DESTDIR SYSCONFDIR

# Integration tests mostly wait on processes (anti-spin waits are 10 s), so
# more threads than cores keeps the suite short.
TEST_THREADS ?= 8

.PHONY: all build release run test deps fmt-check lint unit cross cross-check \
        sizes bloat deb install uninstall bench bench-quick clean

all: release

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# Runs pmtr in the foreground on the bundled example; Ctrl-C stops it and
# its jobs.
run: release
	./target/release/pmtr -F -c examples/pmtr.conf

# Everything CI runs. Installs what it needs on a fresh machine first.
# bench-quick keeps the benchmark harness itself working (under a minute).
test: deps fmt-check lint unit cross-check bench-quick

deps:
	sh tests/setup.sh

fmt-check:
	$(CARGO) fmt --check

lint:
	$(CARGO) clippy --all-targets -- -D warnings

# The static x86_64 build is what tests/it/deb.rs packages; built here so
# that the test finds it ready instead of building it beside other tests.
unit:
	$(CARGO) build --release
	$(CARGO) build --release --target x86_64-unknown-linux-musl
	RUST_TEST_THREADS=$(TEST_THREADS) $(CARGO) test

# Static binaries for every target with `cross` (needs Docker).
cross:
	sh cross/build.sh

# Every target built without Docker and smoke-tested under qemu-user.
cross-check:
	sh cross/check.sh

sizes:
	sh cross/sizes.sh

# Where the bytes go: per crate, pmtr module, C object and function, for
# each target and flavour (unstripped copies in target/bloat/).
bloat:
	sh cross/bloat.sh

# Debian packages for armhf (the armv6 build: every Pi on 32-bit Raspberry
# Pi OS), arm64 and amd64 from the size-optimised builds, into target/deb/.
# Installs the nightly toolchain and zig on first use (cross/setup.sh).
deb:
	sh pkg/deb/build.sh

# No build here: `sudo make install` runs as root, whose PATH (sudo's
# secure_path) has no ~/.cargo/bin, so building must be `make` beforehand;
# install.sh says so if the binary is missing.
install:
	sh init.d/install.sh install

uninstall:
	sh init.d/install.sh uninstall

# pmtr beside runit, s6, daemontools and supervisord (installs them with
# apt-get if missing); writes bench/results.json. BENCH_FLAGS=--soak adds
# the 100,000-restart soak (~17 min more).
bench: release
	python3 bench/bench.py $(BENCH_FLAGS)

# Under a minute: pmtr (and runit if installed); fails only if the harness
# breaks, not when pmtr misses a target.
bench-quick: release
	python3 bench/bench.py --quick $(BENCH_FLAGS)

clean:
	$(CARGO) clean
	rm -rf .venv bench/out
