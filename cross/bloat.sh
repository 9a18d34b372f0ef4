#!/bin/sh
# `make bloat`: where the bytes of each pmtr binary go, per target and
# flavour (issue 18: measure before cutting).
#   sh cross/bloat.sh [--no-build] [--top N] [SHORT|SHORT-min ...]
#     e.g. sh cross/bloat.sh armv6-min x86_64       (default: all built;
#     with names, only their flavours and targets are built)
#
# Builds unstripped copies of pmtr into target/bloat/ (same code as
# target/dist/: the profile's `strip` only acts at link time; the report
# checks that .text and .rodata match cargo's stripped binary byte for byte in
# size), each with its linker map, then prints for each:
#   - the file: its allocated sections and what else is in the file;
#   - by origin: bytes of code (and named data) per crate and per pmtr
#     module, the C library, compiler-rt; generic code counted where its
#     type comes from, drop glue apart;
#   - cross-cutting: core::fmt (Formatter, Display/Debug impls, integer
#     formatting, fmt::Write impls), panic paths, generics instantiated
#     more than once;
#   - the C library and compiler-rt by object file (from the linker map);
#   - the N largest functions and data objects.
# Anonymous constants (string literals, panic locations, jump tables) have
# no symbol: they are .rodata minus its named objects, reported as such.
# Flags that cut bytes across the board (-Zlocation-detail, -Zfmt-debug)
# are measured by building twice: PMTR_RUSTFLAGS with cross/local-build.sh.
set -eu
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"

build=1
top=25
while [ $# -gt 0 ]; do
    case $1 in
        --no-build) build="" ;;
        --top) top=$2; shift ;;
        -*) die "usage: sh cross/bloat.sh [--no-build] [--top N] [SHORT[-min]...]" ;;
        *) break ;;
    esac
    shift
done

BLOAT_DIR=$STABLE_TARGET_DIR/bloat
MAPS=$BLOAT_DIR/maps

# With binaries named, only their flavours and targets are built (one
# armv6-min alone takes a minute, not the six builds' several).
flavours="release min"
build_targets=${PMTR_TARGETS:-}
if [ $# -gt 0 ]; then
    flavours="" build_targets=""
    for name do
        case $name in
            *-min) flavour=min short=${name%-min} ;;
            *) flavour=release short=$name ;;
        esac
        case " $flavours " in *" $flavour "*) ;; *) flavours="$flavours $flavour" ;; esac
        for target in $ALL_TARGETS; do
            [ "$(short_name "$target")" != "$short" ] && continue
            case " $build_targets " in *" $target "*) ;; *) build_targets="$build_targets $target" ;; esac
        done
    done
fi
if [ -n "$build" ]; then
    sh "$TOP/cross/setup.sh"
    # shellcheck disable=SC2086 # a list of words
    CARGO_TARGET_DIR=$BLOAT_DIR PMTR_LINK_MAP=$MAPS PMTR_TARGETS=$build_targets \
        PMTR_CARGO_ARGS="--bin pmtr --config profile.release.strip=false" \
        sh "$TOP/cross/local-build.sh" $flavours
fi

# section_sizes BIN: "NAME SIZE FLAGS" for each section, sizes in decimal.
section_sizes() {
    readelf -SW "$1" | sed -n 's/^ *\[ *[0-9]*\] //p' | awk '
        function hexval(h,    i, n) {
            h = tolower(h); n = 0
            for (i = 1; i <= length(h); i++) n = n * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
            return n
        }
        # NAME TYPE ADDR OFF SIZE ES [FLG] LK INF AL
        $2 != "NULL" && NF >= 9 { printf "%s %d %s\n", $1, hexval($5), (NF >= 10) ? $7 : "-" }'
}

# report LABEL BIN STRIPPED MAP SHIPPED
report() {
    label=$1 bin=$2 stripped=$3 map=$4 shipped=$5
    echo
    echo "=================== $label ==================="
    if [ -f "$stripped" ]; then
        printf 'file: %s bytes stripped (%s)' "$(wc -c <"$stripped")" "$stripped"
        [ ! -f "$shipped" ] || printf ', %s without its section table (%s)' "$(wc -c <"$shipped")" "$shipped"
        echo
        a=$(section_sizes "$bin" | awk '$1 == ".text" || $1 == ".rodata" { printf "%s=%s ", $1, $2 }')
        b=$(section_sizes "$stripped" | awk '$1 == ".text" || $1 == ".rodata" { printf "%s=%s ", $1, $2 }')
        # The unstripped build's other profile changes the crates' hashes,
        # which can reorder functions: a few bytes of alignment apart.
        off=$({ section_sizes "$bin"; section_sizes "$stripped" | sed 's/^/- /'; } | awk '
            $1 == ".text" || $1 == ".rodata" { d[$1] += $2 }
            $1 == "-" && ($2 == ".text" || $2 == ".rodata") { d[$2] -= $3 }
            END { for (k in d) t += (d[k] < 0 ? -d[k] : d[k]); print t + 0 }')
        if [ "$off" -eq 0 ]; then
            echo "unstripped copy: $bin (sections match the stripped file: $a)"
        elif [ "$off" -le 64 ]; then
            echo "unstripped copy: $bin (sections within $off bytes of the stripped file's: alignment)"
        else
            echo "unstripped copy: $bin: NOT the same build as $stripped ($a against $b): run without --no-build"
        fi
    else
        echo "file: (no stripped binary at $stripped) unstripped copy: $bin"
    fi
    echo
    {
        section_sizes "$bin" | sed 's/^/S /'
        readelf -SW "$bin" | sed -n 's/^ *\[ *\([0-9]*\)\] \([^ ]*\).*/N \1 \2/p'
        [ -f "$map" ] && map_groups "$map"
        # Symbols: NUM: VALUE SIZE TYPE BIND VIS NDX NAME (NAME may hold spaces).
        readelf -sW -C "$bin" | awk '$1 ~ /^[0-9]+:$/ && ($4 == "FUNC" || $4 == "OBJECT" || $4 == "TLS") && $3 > 0 {
            name = $0
            sub(/^ *[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "", name)
            sub(/::h[0-9a-f]{16}$/, "", name)
            print "Y", $2, $3, $4, $7, name
        }'
    } | awk -v top="$top" -f "$TOP/cross/bloat.awk"
}

# map_groups MAP: from a linker map (lld's or GNU ld's format), "M GROUP
# OBJECT SIZE" for each allocated input section in the file (not .bss), and
# "MS GROUP OBJECT SYMBOL" for each symbol defined in a C object. GROUP is
# musl, compiler-rt, zig-libc, crt or rust.
map_groups() {
    awk '
    function group(path,    m) {
        if (path ~ /libc\.a\(/) return "musl"
        if (path ~ /libcompiler_builtins/) return "compiler_builtins"
        if (path ~ /compiler_rt|compiler-rt/) return "compiler-rt"
        if (path ~ /libzigc\.a/) return "zig-libc"
        if (path ~ /crt[1in]\.o|crt[a-z0-9]*\.o|rcrt1|Scrt1/) return "crt"
        return "rust"
    }
    function member(path,    n, parts) {
        if (match(path, /\([^()]*\)/)) path = substr(path, RSTART + 1, RLENGTH - 2)
        n = split(path, parts, "/")
        return parts[n]
    }
    function wanted(sec) {
        # Not .eh_frame_hdr: the linker makes it, and a map names the
        # first object for it.
        return sec ~ /^\.(text|rodata|data|init|fini|eh_frame|gcc_except|ARM\.ex|tdata|got|init_array|fini_array|preinit_array|ctors|dtors|srodata|sdata)/ && sec !~ /^\.eh_frame_hdr/
    }
    function hexval(h,    i, n) {
        h = tolower(h); sub(/^0x/, "", h); n = 0
        for (i = 1; i <= length(h); i++) n = n * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
        return n
    }
    # lld: "     VMA      LMA     Size Align Out     In      Symbol"
    /^ +VMA +LMA +Size +Align +Out +In +Symbol/ { lld = 1; next }
    lld {
        line = $0
        if (!match(line, /^ *[0-9a-f]+ +[0-9a-f]+ +[0-9a-f]+ +[0-9]+ /)) next
        rest = substr(line, RLENGTH)
        size = hexval($3)
        match(rest, /^ */); indent = RLENGTH
        name = rest; sub(/^ */, "", name)
        if (indent <= 1) { out = name; cur = ""; next }
        if (indent > 9) {             # a symbol inside the input section
            if (cur != "" && cur != "rust") print "MS", cur, curm, name
            next
        }
        cur = ""
        if (!match(name, /:\(/)) next
        path = substr(name, 1, RSTART - 1)
        cur = group(path); curm = member(path)
        if (wanted(out)) print "M", cur, curm, size
        next
    }
    # GNU ld: after "Linker script and memory map", input sections are
    # " .text.name  0xADDR  0xSIZE  path", the name alone on its line when long.
    /^Linker script and memory map/ { gnu = 1; next }
    gnu && /^ \.[^ ]+$/ { pending = $1; next }
    gnu && pending != "" && /^ +0x[0-9a-f]+ +0x[0-9a-f]+ +[^ ]/ {
        cur = group($3); curm = member($3)
        if (wanted(pending)) print "M", cur, curm, hexval($2)
        pending = ""; next
    }
    gnu && /^ \.[^ ]+ +0x[0-9a-f]+ +0x[0-9a-f]+ +[^ ]/ {
        cur = group($4); curm = member($4)
        if (wanted($1)) print "M", cur, curm, hexval($3)
        pending = ""; next
    }
    gnu && /^ +0x[0-9a-f]+ +[^ ]+$/ {
        if (cur != "" && cur != "rust") print "MS", cur, curm, $2
        next
    }
    gnu { pending = ""; cur = "" }
    ' "$1"
}

# Which binaries: all that local-build.sh made, or those named.
if [ $# -eq 0 ]; then
    for target in $TARGETS; do
        set -- "$@" "$(short_name "$target")-min"
    done
    for target in $STABLE_LOCAL_TARGETS; do
        set -- "$@" "$(short_name "$target")"
    done
fi
for name do
    case $name in
        *-min) flavour=min short=${name%-min} ;;
        *) flavour=release short=$name ;;
    esac
    bin=$BLOAT_DIR/dist/pmtr-$name
    [ -f "$bin" ] || { say "no $bin (built by this script; release is x86_64 and aarch64 only)"; continue; }
    # The stripped build to compare with: cargo's copy, whose sections the
    # one in target/dist no longer lists (install_dist in cross/lib.sh).
    linked=""
    for target in $ALL_TARGETS; do
        [ "$(short_name "$target")" = "$short" ] && linked=$(cargo_out "$target" "$flavour")
    done
    report "pmtr-$name ($flavour)" "$bin" "$linked" "$MAPS/$flavour-$short.map" "$DIST/pmtr-$name"
done
