# shellcheck shell=sh
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# Shared by the cross/ scripts (sourced, POSIX sh). Defines the targets, the
# two build flavours and where their binaries land.
#
# Flavours:
#   release  stable Rust, `cargo build --release` with the size-tuned
#            [profile.release] of Cargo.toml (opt-level z, LTO, one codegen
#            unit, panic=abort, stripped).
#   min      the same profile on nightly, with the standard library rebuilt
#            for the profile (-Z build-std) and the immediate-abort panic
#            strategy: no panic message, no unwinding tables, no formatting
#            machinery kept alive just for panics. About a tenth of the size.
#
# Binaries are copied to target/dist/pmtr-<short>[-min], e.g.
# target/dist/pmtr-armv6-min, the file to copy onto a device.

TOP=$(cd "$(dirname "$0")/.." && pwd)

# Every target pmtr ships for, and the short name used in file names;
# TARGETS, the ones this run builds (PMTR_TARGETS: a subset, for
# measuring one flag on one target).
ALL_TARGETS="arm-unknown-linux-musleabihf armv7-unknown-linux-musleabihf aarch64-unknown-linux-musl x86_64-unknown-linux-musl"
TARGETS=${PMTR_TARGETS:-$ALL_TARGETS}

# Targets whose std rustup ships on stable, so the release flavour can be
# built here without Docker. The 32-bit ARM std is not downloadable on this
# kind of machine; `make cross` (Docker) builds those.
# With PMTR_TARGETS set, only those of them that are in it.
STABLE_LOCAL_TARGETS=""
for stable_target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
    case " $TARGETS " in
        *" $stable_target "*) STABLE_LOCAL_TARGETS="$STABLE_LOCAL_TARGETS${STABLE_LOCAL_TARGETS:+ }$stable_target" ;;
    esac
done

STABLE=${PMTR_STABLE:-stable}
NIGHTLY=${PMTR_NIGHTLY:-nightly}

STABLE_TARGET_DIR=${CARGO_TARGET_DIR:-$TOP/target}
MIN_TARGET_DIR=$STABLE_TARGET_DIR/min
DIST=$STABLE_TARGET_DIR/dist

# Size budgets in bytes (README, "Sizes"): exceeding one fails cross-check,
# so growth is a decision, not an accident. Each build's budget is its
# size at the last session's end plus about 1 KB, but never above issue
# 18's goal once the build has met it; the goal (the original C pmtr's
# size on that target, 200 KB for stable x86_64) is reported beside it,
# met or not.
# Set 2026-12-05 (twenty-ninth session, 03:25, with its eleven branches
# merged); the twenty-eighth's (00:31) were 118320 / 113768 / 142696 /
# 146628 min and 151856 / 154212 stable; the twenty-seventh's (2026-12-04 21:19) were 119024 / 114400 /
# 143592 / 148036 min and 152800 / 155628 stable; the twenty-sixth's (18:20) were 119616 / 115248 / 144752 /
# 149140 min and 154272 / 157220 stable; the twenty-fifth's (15:28) were 120176 / 115920 / 145512 /
# 150348 min and 155056 / 158140 stable (at 14:35, 120360 / 116024 /
# 145656 / 150684 min and 155040 / 158420 stable); the twenty-fourth's
# (10:50) were 120552 / 116208 / 145808 / 151188 min and 155264 /
# 158868 stable; the twenty-second's
# (03:18) were 121112 / 116568 / 146360 / 152604 min and 155648 /
# 160132 stable; the twenty-first's
# (23:47) were 121376 / 116752 / 146680 / 153540 min and 155936 /
# 160868 stable; the twentieth's (19:06)
# were 121536 / 116728 / 147328 / 155956 min and 156560 / 163372
# stable; at 18:04 they were
# 122424 / 116728 / 147768 / 159204 min and 157024 / 166452 stable; the
# nineteenth session's were
# 122760 / 117104 / 152080 / 159844 min and 158272 / 167060 stable; the
# eighteenth session's were
# 123112 / 117424 / 152776 / 160460 min and 158880 / 167580 stable; the
# seventeenth session's were
# 124456 / 119440 / 154928 / 164084 min and 160240 / 171308 stable; the
# sixteenth session's were
# 124876 / 120152 / 156128 / 165276 min and 162008 / 172916 stable (min
# armv6's then the goal itself); the fifteenth session's were
# 124876 / 120448 / 156928 / 166528 min and 163840 / 174976 stable; the
# fourteenth session's were
# 127744 / 122624 / 158720 / 168320 min (armv6 / armv7 / aarch64 /
# x86_64) and 165376 / 176768 stable (aarch64 / x86_64); the
# thirteenth's 128512 / 123136 / 158976 / 169472 and 165632 / 177920,
# the first for every build. Before: min armv7 at
# the C pmtr's armv7 size (124712) and stable x86_64 at 200 KB (eleventh
# session), 126 KB and 200 KB (tenth), 130 KB (ninth),
# 134 KB (eighth), 138 KB (seventh), 142 and 209 KB (sixth), 147 and
# 216 KB (fifth), 152 and 222 KB (fourth), 158 and 232 KB (third), 168.75
# and 244 KB (2026-12-01, second session), 169 and 250 KB (2026-12-01),
# 174 and 257 KB (2026-11-30, late), and 184 and 288 KB.
budget_of() {
    case $1-$2 in
        armv6-min) echo "117464 124876" ;;
        armv7-min) echo "113168 124712" ;;
        aarch64-min) echo "141736 148480" ;;
        x86_64-min) echo "145556 136104" ;;
        aarch64-release) echo "150640 0" ;;
        x86_64-release) echo "152828 204800" ;;
        *) echo "0 0" ;;
    esac
}

# RUSTFLAGS in the environment would replace every target's rustflags from
# .cargo/config.toml (static linking, CPU, linker options).
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS

short_name() {
    case $1 in
        arm-unknown-linux-musleabihf) echo armv6 ;;
        armv7-unknown-linux-musleabihf) echo armv7 ;;
        aarch64-unknown-linux-musl) echo aarch64 ;;
        x86_64-unknown-linux-musl) echo x86_64 ;;
        *) echo "cross: unknown target $1" >&2; return 1 ;;
    esac
}

# dist_path TARGET FLAVOUR
dist_path() {
    if [ "$2" = min ]; then
        echo "$DIST/pmtr-$(short_name "$1")-min"
    else
        echo "$DIST/pmtr-$(short_name "$1")"
    fi
}

# install_dist TARGET FLAVOUR: copy cargo's binary for TARGET and FLAVOUR
# to its place in target/dist/ and, when it is stripped, drop its section
# header table too (`llvm-objcopy --strip-sections`). The kernel loads an
# executable by its program headers alone; the sections that go are the
# table (10 or 11 entries of 40 or 64 bytes), their names, the linker's
# .comment and ARM's build attributes, none of them loaded (issue 18:
# min armv7 -712 bytes, armv6 -704, aarch64 -812, x86_64 -808, stable
# x86_64 -1248). The price: readelf -S, objdump -h and debuggers see no
# sections in the shipped file, so cross/check.sh reads those of cargo's
# copy, which is the same code; cross/bloat.sh builds its own unstripped
# one. An unstripped build (PMTR_CARGO_ARGS with strip=false) is copied
# as it is.
install_dist() {
    dist_src=$(cargo_out "$1" "$2")
    dist_dst=$(dist_path "$1" "$2")
    install -D -m 755 "$dist_src" "$dist_dst"
    if ! readelf -SW "$dist_src" | grep -q ' \.symtab '; then
        "$(objcopy_tool)" --strip-sections "$dist_dst"
    fi
}

# objcopy_tool: an llvm-objcopy (GNU objcopy has no --strip-sections):
# Debian's `llvm` package, or a versioned one.
objcopy_tool() {
    if command -v llvm-objcopy >/dev/null 2>&1; then
        echo llvm-objcopy
        return 0
    fi
    for tool in /usr/bin/llvm-objcopy-*; do
        [ ! -x "$tool" ] || { echo "$tool"; return 0; }
    done
    die "llvm-objcopy not found: run cross/setup.sh (it installs Debian's llvm)"
}

# min_target TARGET: what the min flavour of cross/local-build.sh passes
# to cargo as --target. armv6 is built from cross/armv6-thumb.json:
# arm-unknown-linux-musleabihf in Thumb-1 code (issue 18: 187196 -> 136180
# bytes, -27%; ARM1176 runs Thumb-1, not Thumb-2). rustc's own
# target cannot be switched to Thumb-1 (compiler-builtins' atomics for it
# need `has-thumb-interworking`, which only a target spec sets), and a
# JSON target spec needs nightly: the min flavour is nightly anyway.
# The price: Thumb-1 has 8 usable registers and no VFP instructions, so
# the same work takes more instructions (parsing a 3000-job file under
# qemu-arm: 0.09 s of CPU as ARM code, 0.13 s as Thumb-1); pmtr's work per
# restart is microseconds against a fork and exec.
# PMTR_ARMV6_ARM=1 builds armv6 as ARM code instead, as before, e.g. to
# compare: CARGO_TARGET_DIR=$PWD/target/arm PMTR_ARMV6_ARM=1 sh cross/bloat.sh
min_target() {
    case $1 in
        arm-unknown-linux-musleabihf)
            if [ -n "${PMTR_ARMV6_ARM:-}" ]; then
                echo "$1"
            else
                echo "$TOP/cross/armv6-thumb.json"
            fi
            ;;
        *) echo "$1" ;;
    esac
}

# min_target_name TARGET: the name cargo knows min_target TARGET by (its
# output directory and the key of its [target.NAME] settings).
min_target_name() {
    basename "$(min_target "$1")" .json
}

# cargo's own output path for TARGET in FLAVOUR.
cargo_out() {
    if [ "$2" = min ]; then
        echo "$MIN_TARGET_DIR/$(min_target_name "$1")/release/pmtr"
    else
        echo "$STABLE_TARGET_DIR/$1/release/pmtr"
    fi
}

# min_map_dir: where the min flavour's links write their linker maps
# (cross/zig-cc, cross/local-build.sh): PMTR_LINK_MAP, or target/min/maps.
min_map_dir() {
    echo "${PMTR_LINK_MAP:-$MIN_TARGET_DIR/maps}"
}

# map_is_of MAP LINKED_BIN: whether lld's MAP is that of the link that made
# LINKED_BIN (cargo's copy, which keeps its section table): their .text.hot
# sizes agree. A binary cargo found up to date keeps an older link's map.
map_is_of() {
    map_hot=$(awk '$5 == ".text.hot" && NF == 5 { print $3; exit }' "$1")
    bin_hot=$(readelf -SW "$2" 2>/dev/null | awk '$2 == ".text.hot" { print $6; exit } $3 == ".text.hot" { print $7; exit }')
    [ -n "$map_hot" ] && [ -n "$bin_hot" ] && [ $((0x$map_hot)) -eq $((0x$bin_hot)) ]
}

# How to run a binary for TARGET on this x86_64 machine: qemu-user with the
# oldest CPU of the boards it is meant for, so an instruction that CPU lacks
# fails here instead of on a Pi Zero.
runner_for() {
    case $1 in
        arm-unknown-linux-musleabihf) echo "qemu-arm -cpu arm1176" ;;
        armv7-unknown-linux-musleabihf) echo "qemu-arm -cpu cortex-a7" ;;
        aarch64-unknown-linux-musl) echo "qemu-aarch64 -cpu cortex-a53" ;;
        x86_64-unknown-linux-musl) echo "" ;;
    esac
}

# What `file` must say about the machine for TARGET.
file_arch() {
    case $1 in
        arm-unknown-linux-musleabihf | armv7-unknown-linux-musleabihf) echo "32-bit LSB.*ARM, EABI5" ;;
        aarch64-unknown-linux-musl) echo "64-bit LSB.*ARM aarch64" ;;
        x86_64-unknown-linux-musl) echo "64-bit LSB.*x86-64" ;;
    esac
}

# The immediate-abort panic strategy is spelled two ways depending on the
# nightly: newer ones take `-C panic=immediate-abort` (with
# -Z unstable-options), older ones a std feature. Sets MIN_PANIC_RUSTFLAGS
# (rustc flags, maybe none) and MIN_STD_ARGS (cargo arguments), and
# MIN_NO_JUMP_TABLES (see no_jump_tables_flag) and MIN_SIZE_LAYOUT (see
# size_layout_flag).
# pmtr is no_std (src/rt/start.rs), so only core and alloc are rebuilt,
# with `optimize_for_size` (smaller sort and formatting code, same
# behaviour).
min_panic_strategy() {
    if rustc_takes "$NIGHTLY" -Zunstable-options -Cpanic=immediate-abort; then
        MIN_PANIC_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort"
        MIN_STD_ARGS="-Zbuild-std=core,alloc -Zbuild-std-features=optimize_for_size"
    else
        MIN_PANIC_RUSTFLAGS=""
        MIN_STD_ARGS="-Zbuild-std=core,alloc -Zbuild-std-features=panic_immediate_abort,optimize_for_size"
    fi
    MIN_NO_JUMP_TABLES=$(no_jump_tables_flag "$NIGHTLY")
    MIN_SIZE_LAYOUT=$(size_layout_flag "$NIGHTLY")
}

# min_rustflags TARGET: the rustflags the min flavour adds for TARGET
# (after min_panic_strategy):
# - the immediate-abort panic strategy;
# - no unwind tables: nothing unwinds with immediate abort, and the
#   .eh_frame section was a sixth of the x86_64 file (319 -> 273 KB);
# - armv7: Thumb-2 code, about a quarter smaller than ARM code (268 -> 206
#   KB when measured); a supervisor spends its time waiting, not computing.
#   rustc warns that thumb-mode is unstable: this flavour is nightly-only
#   anyway. (armv6, which has only Thumb-1, gets it from its target spec:
#   see min_target.)
# - `--cfg pmtr_small_rt`: pmtr's own memcpy, memmove, memset, memcmp,
#   bcmp and strlen, byte loops (src/rt/mem.rs), over the toolchain's
#   speed-tuned ones: compiler_builtins' word copies, zig's compiler-rt
#   (issue 18, measured: armv7 -928 bytes, armv6 -584, aarch64 -592,
#   x86_64 -680; a restart copies a few dozen bytes through them); and on
#   32-bit ARM its own 64-bit division, a shift-and-subtract loop
#   (src/rt/div.rs: armv7 -352, armv6 -376).
# - LLVM's machine outliner, which turns repeated instruction sequences
#   into shared calls: on by default only on aarch64 at opt-level z; here
#   for the others too (issue 18, measured: armv6 -5208 bytes, armv7 -1408,
#   x86_64 -1664). The calls cost a few cycles; pmtr waits, it does not
#   compute.
# - no jump tables, but on armv7 (see no_jump_tables_flag).
# - aarch64: no outline atomics. rustc's aarch64 targets call a helper per
#   atomic operation that picks LSE or exclusive loads at run time, for
#   threads on many cores; pmtr is one thread, and its few atomic bytes
#   become inline exclusive-load loops every ARMv8 core runs (issue 18:
#   -112 bytes). Not for the stable flavour: its prebuilt core is built
#   with them, and LLVM inlines no function built with other target
#   features into pmtr's code (measured: +5320).
# - aarch64: instructions scheduled for the Cortex-A72 (Pi 4, Pi 400, CM4;
#   `-Ztune-cpu`, nightly, as this flavour is). Tuning only: the
#   instruction set stays plain ARMv8.0-A, which every 64-bit Pi runs (the
#   Cortex-A53 of the Pi 3 and Zero 2 W too; `pmtr -t` on 2456 configs
#   under `qemu-aarch64 -cpu cortex-a53` prints the same as without it).
#   rustc's default aarch64 tuning runs LLVM's post-RA scheduler, which
#   reorders instructions after register allocation to hide latencies on
#   an in-order core; reordered, fewer runs of instructions are alike, and
#   the machine outliner shares fewer of them (with the A72's tuning:
#   outlined code 3948 -> 5412 bytes in 302 -> 405 sequences, pmtr's
#   functions 127216 -> 122804). The A72's tuning has no post-RA
#   scheduler. Measured, issue 18: min aarch64 -3144 bytes (the post-RA
#   scheduler alone left out, `-Cllvm-args=-enable-post-misched=false`:
#   -2856; tuned for the Cortex-A76 of the Pi 5: the same bytes as for
#   the A72; for the A53: +88, the A55: +128, the A57: -72). pmtr waits,
#   it does not compute.
# - blocks laid out for size ($MIN_SIZE_LAYOUT: see size_layout_flag),
#   but on armv7.
# - tail merging down to one instruction (LLVM's branch folder merges
#   identical block endings of 3 instructions or more by default): an
#   ending that two paths share is kept once and branched to (issue 18:
#   armv6 -40 bytes, armv7 -48, aarch64 -64, x86_64 -88).
# - no hoisting out of loops or into earlier blocks ($NO_HOISTING, below),
#   and on x86_64 no loop strength reduction either, and
#   $X86_SIZE.
# - but on armv7, the register allocator's size mode for splitting a
#   value's live range (`-split-spill-mode=size`; LLVM's default is
#   "speed" even at opt-level z): fewer copies and reloads where a value
#   is split around a call, at the cost of a few in loops (issue 18,
#   measured: armv6 -192 bytes, aarch64 -56, x86_64 -88; armv7 +96).
# NO_HOISTING: LLVM passes that move code to run less often, at the cost
# of bytes, left out (both flavours): machine LICM (loop invariants
# hoisted into a block before the loop, held in registers across it, so
# more spills; LLVM runs it even at opt-level z), LICM's scalar promotion
# (a value kept in a register through a loop, loaded before and stored
# after it) and GVN's partial redundancy elimination (a computation copied
# into the paths that lacked it). Measured together, issue 18: min armv6
# -216 bytes, armv7 -1472, aarch64 -1232, x86_64 -2176 (with x86_64's
# `-disable-lsr`, loop strength reduction, alone -264 there: x86's
# addressing modes take an index as it is; on aarch64 it was +216);
# stable x86_64 -2432, stable aarch64 -896. A loop's invariant is then
# computed in each turn: pmtr's loops are over a config's lines, a
# datagram's bytes, a job list; the cost is not measurable against a
# fork and exec (bench/bench.py's respawn rows).
# X86_SIZE: on x86_64 (both flavours), a copy of more than one
# store's worth as a call to memcpy (LLVM's limit for a size-built
# function is 4 stores: up to 64 bytes copied inline by 16-byte SSE
# moves, two instructions of 4 to 9 bytes each per 16, against one call
# and its three arguments), and conditions joined by `&&` or `||` tested
# by one branch each, never computed into flags and merged first
# (`-x86-br-merging-base-cost=-1`). Measured together, issue 18, with
# the other flags: min x86_64 -1232 bytes (the copies -1000, the
# branches -248), stable x86_64 -1200. Not on ARM: min aarch64 +32,
# armv6 +80, armv7 +72 (measured with `-max-store-memset=1` too). That
# one took another 208 bytes off min x86_64, but made stable x86_64's
# LLVM recurse until its stack overflowed: not set. A copy of a few dozen bytes
# through pmtr's byte-loop memcpy (src/rt/mem.rs) costs nanoseconds; a
# restart waits on fork and exec.
# Also on x86_64, LLVM's interprocedural register allocation
# (`-enable-ipra`): a function's callers are compiled knowing which
# registers it really overwrites, so a value lives through the call in a
# register the callee leaves alone instead of in a callee-saved one
# pushed and popped around the caller's body; and a function of pmtr's
# own that is called only directly and never recursively saves no
# registers of its own (its callers know what it overwrites). Measured,
# issue 18: min x86_64 -1344 bytes, stable x86_64 -1080. Only where no
# code is added after the registers are counted: on x86_64 the machine
# outliner moves a function's own instructions and calls them, with the
# return address on the stack and no register of its own; on ARM an
# outlined call may keep its return address in a register the function
# itself leaves free, which a caller counting on that register would
# lose, so not there. `pmtr -t` on 2456 configs prints the same, and the
# integration tests pass against the min build.
X86_SIZE="-Cllvm-args=-max-store-memcpy=1 -Cllvm-args=-x86-br-merging-base-cost=-1 -Cllvm-args=-enable-ipra"
NO_HOISTING="-Cllvm-args=-disable-machine-licm -Cllvm-args=-disable-licm-promotion -Cllvm-args=-enable-pre=false -Cllvm-args=-enable-load-pre=false"

min_rustflags() {
    flags="$MIN_PANIC_RUSTFLAGS -Cforce-unwind-tables=no --cfg pmtr_small_rt"
    flags="$flags -Cllvm-args=-tail-merge-size=1"
    case $1 in
        armv7-unknown-linux-musleabihf) flags="$flags -Ctarget-feature=+thumb-mode" ;;
        *) flags="$flags $MIN_NO_JUMP_TABLES -Cllvm-args=-split-spill-mode=size $MIN_SIZE_LAYOUT" ;;
    esac
    flags="$flags $NO_HOISTING"
    case $1 in
        x86_64-*) flags="$flags -Cllvm-args=-disable-lsr $X86_SIZE" ;;
    esac
    case $1 in
        aarch64-*) flags="$flags -Ctarget-feature=-outline-atomics -Ztune-cpu=cortex-a72" ;;
        *) flags="$flags -Cllvm-args=-enable-machine-outliner=always" ;;
    esac
    echo "$flags"
}

# size_layout_flag TOOLCHAIN: `-Cllvm-args=-apply-ext-tsp-for-size` if
# TOOLCHAIN's LLVM has it (LLVM 20 on; an older one refuses an option it
# does not know), or nothing. LLVM's block placement orders a function's
# blocks by how often each edge runs, so that the hot path falls through;
# with this option, in functions built for size (all of pmtr's, at
# opt-level z), it orders them by the ext-TSP algorithm with every edge
# weighed alike: as many branches as it can become fall-throughs, and
# the rest land nearer their targets, in reach of the short forms (on
# x86_64, a 2-byte jump instead of a 5- or 6-byte one; pmtr's large
# functions had 1481 long jumps within themselves). Only the order of
# blocks changes: `pmtr -t` on 2456 configs prints the same (x86_64,
# aarch64 under qemu). Measured with each flavour's other flags, issue
# 18: min armv6 -888 bytes, armv7 -704, aarch64 -440, x86_64 -2016;
# stable x86_64 -1880, stable aarch64 -464. Not on armv7: there the
# loop's code fell on two more pages, 97 KB of PSS on the ARM kernel
# against 89 without it (`bench/arm-vm.sh`, both builds in one boot;
# armv6 went from 93 to 89). A branch the loop takes may
# now jump where it fell through: no difference a supervisor waiting on
# fork and exec can measure (bench/bench.py's respawn rows).
size_layout_flag() {
    if rustc_takes "$1" -Cllvm-args=-apply-ext-tsp-for-size; then
        echo "-Cllvm-args=-apply-ext-tsp-for-size"
    fi
}

# no_jump_tables_flag TOOLCHAIN: how TOOLCHAIN's rustc spells "no jump
# tables" (`-Cjump-tables=no` since Rust 1.93, `-Zno-jump-tables` on an
# older nightly), or nothing if it has neither. Jump tables for `match`es
# cost more than the compares that replace them everywhere but on armv7,
# whose Thumb-2 TBB/TBH tables are a byte or two per entry (issue 18,
# measured with each flavour's other flags: min x86_64 -1344 bytes, min
# armv6 -344, min aarch64 -32, stable x86_64 -1344; min armv7 +528). A
# switch becomes a few compares and branches instead of one indirect
# jump: no difference a supervisor can measure.
no_jump_tables_flag() {
    for flag in -Cjump-tables=no -Zno-jump-tables; do
        if rustc_takes "$1" "$flag"; then
            echo "$flag"
            break
        fi
    done
}

# rustc_takes TOOLCHAIN FLAG...: whether TOOLCHAIN's rustc accepts the
# FLAGs (an empty crate compiled with them; an unknown `-C`, `-Z` or
# LLVM option fails it). The probe's output goes to a scratch directory,
# never /dev/null: rustc writes its output elsewhere and renames it over
# the -o path, which replaces /dev/null with a regular file for the
# whole machine.
rustc_takes() {
    takes_toolchain=$1
    shift
    takes_dir=$(mktemp -d)
    takes_rc=1
    printf '' | rustup run "$takes_toolchain" rustc "$@" --crate-type=lib --crate-name=probe \
        --emit=metadata -o "$takes_dir/probe.rmeta" - 2>/dev/null && takes_rc=0
    rm -rf "$takes_dir"
    return $takes_rc
}

# release_rustflags TARGET: the rustflags the release flavour adds for
# TARGET to those of .cargo/config.toml (which must build on every Rust
# from the crate's rust-version, so a flag newer than that is added here,
# after a probe): no jump tables on x86_64; and, as in the min flavour,
# blocks laid out for size (size_layout_flag: stable x86_64 -1880 bytes,
# stable aarch64 -464), tail merging down to one instruction (stable
# x86_64 -72 bytes), no
# hoisting ($NO_HOISTING) and, on x86_64, no loop strength reduction
# (stable aarch64 +192, so not there), the register allocator's size
# mode for splitting (stable x86_64 -248 bytes; stable aarch64 0) and
# $X86_SIZE.
release_rustflags() {
    case $1 in
        x86_64-*) echo "-Cllvm-args=-tail-merge-size=1 $NO_HOISTING -Cllvm-args=-disable-lsr -Cllvm-args=-split-spill-mode=size $X86_SIZE $(no_jump_tables_flag "$STABLE") $(size_layout_flag "$STABLE")" ;;
        *) echo "-Cllvm-args=-tail-merge-size=1 $NO_HOISTING $(size_layout_flag "$STABLE")" ;;
    esac
}

# toml_array WORD...: the words as a TOML array of strings, for --config.
toml_array() {
    out=""
    for word do
        out="$out${out:+, }\"$word\""
    done
    printf '[%s]' "$out"
}

# Seconds since the epoch, for the timing lines.
now() { date +%s; }

say() { printf 'cross: %s\n' "$*"; }

# wait_for SECONDS COMMAND...: poll until the command succeeds; false if
# it has not within SECONDS (for scripts that wait on a process they ran).
wait_for() {
    deadline=$(($(date +%s) + $1))
    shift
    while ! "$@"; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}
die() { printf 'cross: FAIL: %s\n' "$*" >&2; exit 1; }

# For cross/hot-trace.sh and cross/hot-qemu.sh, which run pmtr (its PID in
# $pid) on one job and watch the job restart.
# hot_children: the PIDs of pmtr's children.
# shellcheck disable=SC2154 # $pid is the caller's
hot_children() { cat "/proc/$pid/task/$pid/children" 2>/dev/null || true; }
hot_one_child() { [ -n "$(hot_children)" ]; }
# hot_replaced OLD: pmtr's one child is no longer OLD.
hot_replaced() { c=$(hot_children); [ -n "$c" ] && [ "$c" != "$1 " ] && [ "$c" != "$1" ]; }
# hot_setup DIR: DIR/log.sock, a datagram socket drained (the drainer's
# PID in $drain) so log records are sent as to /dev/log on a device, and
# DIR/pmtr.conf, one job that runs until it is killed.
hot_setup() {
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    s.recv(65536)
' "$1/log.sock" &
    drain=$!
    wait_for 10 test -S "$1/log.sock"
    printf 'job {\n  name hot\n  cmd /bin/sleep 100000\n}\n' >"$1/pmtr.conf"
    chmod 600 "$1/pmtr.conf"
}
