# pmtr — see README.md. `make run` and `make test` are the two set-up commands.

CARGO   ?= cargo
PREFIX  ?= /usr
DESTDIR ?=
SYSCONFDIR ?= /etc
export PREFIX DESTDIR SYSCONFDIR

# Integration tests mostly wait on processes (anti-spin waits are 10 s), so
# more threads than cores keeps the suite short.
TEST_THREADS ?= 8

.PHONY: all build release run test deps fmt-check lint unit unit-i686 fuzz \
        cross cross-check it-min sizes bloat deb install uninstall bench bench-quick bench-arm clean

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
test: deps fmt-check lint unit unit-i686 fuzz cross-check it-min bench-quick

deps:
	sh tests/setup.sh

fmt-check:
	$(CARGO) fmt --check

# Also on 32-bit x86, where `c_long` and `usize` are 32 bits as on the
# Pi's armv6/armv7 builds: a cast that is a no-op only there (and which
# clippy refuses) fails here, not on an ARM build nobody lints.
lint:
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --all-targets --target i686-unknown-linux-musl -- -D warnings

# The static x86_64 build is what tests/it/deb.rs packages; built here so
# that the test finds it ready instead of building it beside other tests.
unit:
	$(CARGO) build --release
	$(CARGO) build --release --target x86_64-unknown-linux-musl
	RUST_TEST_THREADS=$(TEST_THREADS) $(CARGO) test

# The library's unit tests again on 32-bit x86 (runs natively here), where
# usize is as narrow as on the Pi's armv6/armv7 builds: length arithmetic
# that overflows only there fails here. Includes the replay of every fuzz
# corpus (src/fuzz.rs).
unit-i686:
	$(CARGO) test --lib --target i686-unknown-linux-musl

# Builds every fuzz target and runs each for FUZZ_SECONDS (fuzz/run.sh);
# `make fuzz FUZZ_SECONDS=600` for a long run.
FUZZ_SECONDS ?= 5
fuzz:
	sh fuzz/run.sh $(FUZZ_SECONDS)

# Static binaries for every target with `cross` (needs Docker).
cross:
	sh cross/build.sh

# Every target built without Docker and smoke-tested under qemu-user.
cross-check:
	sh cross/check.sh

# The integration tests again, against the size-optimised static x86_64
# build that cross-check made (what the packages ship), not the debug
# build: the nightly core, the immediate-abort panics, pmtr's own byte-loop
# memory functions, the hot-text order and no jump tables all run the suite.
# Built (or found up to date) here, so a binary left in target/dist by an
# older checkout is never the one tested; copied to the name `pmtr`, as
# installed: busybox start-stop-daemon -n refuses a 15-character name (it
# cannot tell it from a truncated one).
it-min:
	PMTR_TARGETS=x86_64-unknown-linux-musl sh cross/local-build.sh min
	install -D -m 755 target/dist/pmtr-x86_64-min target/it-min/pmtr
	PMTR_TEST_BIN=$(CURDIR)/target/it-min/pmtr RUST_TEST_THREADS=$(TEST_THREADS) $(CARGO) test --test it

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

# Bytes and PSS with one job on a real 32-bit ARM kernel (Debian's armmp
# under qemu-system-arm, bench/arm-vm.sh) for the armv7 and armv6 min
# builds, added to bench/results.json. The first run downloads the kernel
# and busybox-static:armhf with apt-get. The C pmtr joins with
# BENCH_FLAGS="--peer pmtr-c-armv7=PATH --peer pmtr-c-armv6=PATH".
bench-arm:
	sh cross/setup.sh
	sh cross/local-build.sh min
	python3 bench/bench.py --only arm --merge $(BENCH_FLAGS)

clean:
	$(CARGO) clean
	rm -rf .venv bench/out
