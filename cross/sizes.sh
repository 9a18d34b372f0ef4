#!/bin/sh
# `make sizes`: a table of the size of each target's binary in each flavour
# (they are stripped at link time: profile.release has strip = true; `file`
# confirms), then what `file` says about each.
#   sh cross/sizes.sh             build what the Docker-free path can, then print
#   sh cross/sizes.sh --no-build  print what target/dist/ holds
# Binaries built by `make cross` (Docker) land in target/dist/ too and are
# listed; a pair neither path has built shows as "-".
set -eu
# shellcheck source=cross/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" != --no-build ]; then
    sh "$TOP/cross/setup.sh"
    sh "$TOP/cross/local-build.sh" release min
fi

# bytes and KB (1 KB = 1024 bytes, one decimal), or "-" when not built.
cell() {
    if [ -f "$1" ]; then
        bytes=$(wc -c <"$1")
        printf '%9s %7s' "$bytes" "$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1024 }')"
    else
        printf '%9s %7s' - -
    fi
}

echo
printf '%-32s %-8s | %-17s | %-17s\n' "" "" "release (stable)" "min (nightly)"
printf '%-32s %-8s | %9s %7s | %9s %7s\n' target short bytes KB bytes KB
for target in $TARGETS; do
    printf '%-32s %-8s | %s | %s\n' "$target" "$(short_name "$target")" \
        "$(cell "$(dist_path "$target" release)")" "$(cell "$(dist_path "$target" min)")"
done
echo
for target in $TARGETS; do
    for flavour in release min; do
        bin=$(dist_path "$target" "$flavour")
        [ -f "$bin" ] || continue
        printf '%s: %s\n' "$(basename "$bin")" "$(file -b "$bin")"
    done
done
echo
