# The report of cross/bloat.sh, from the lines it feeds in (POSIX awk):
#   S NAME SIZE FLAGS              a section (readelf -S)
#   N INDEX NAME                   section index to name
#   Y VALUE SIZE TYPE NDX NAME...  a function or object symbol, demangled
#   M GROUP OBJECT SIZE            an allocated input section (linker map)
#   MS GROUP OBJECT SYMBOL         a symbol defined by a C object (map)
# Variables: top (how many of the largest symbols to list).

function fmtn(n) { return sprintf("%9d", n) }

# The crate (and for pmtr the module) a Rust symbol's code belongs to: the
# path of its self type for `<T as Trait>::f`, of the dropped type for drop
# glue, else its own path.
function owner(s,    c, prev) {
    # Drop glue: core::ptr::drop_in_place<T> (legacy mangling), or
    # core::ptr::drop_glue::<T> (v0, what nightly uses).
    if (s ~ /^core::ptr::drop_in_place</) s = substr(s, length("core::ptr::drop_in_place<") + 1)
    if (s ~ /^core::ptr::drop_glue::</) s = substr(s, length("core::ptr::drop_glue::<") + 1)
    do {
        prev = s
        sub(/^</, "", s); sub(/^&/, "", s); sub(/^mut /, "", s)
        sub(/^\*const /, "", s); sub(/^\*mut /, "", s); sub(/^dyn /, "", s)
        sub(/^\[/, "", s); sub(/^\(/, "", s)
    } while (s != prev)
    if (s ~ /^(bool|char|str|u8|u16|u32|u64|u128|usize|i8|i16|i32|i64|i128|isize|f32|f64|!|\))[^a-z_0-9]/ || s ~ /^(bool|char|str|u8|u16|u32|u64|u128|usize|i8|i16|i32|i64|i128|isize)$/)
        return "core"
    if (s ~ /^__rustc::/) return "alloc"
    if (s ~ /^pmtr::/) {
        s = substr(s, 7)
        match(s, /^[A-Za-z_0-9]+/)
        return "pmtr::" substr(s, 1, RLENGTH)
    }
    match(s, /^[A-Za-z_0-9]+/)
    c = substr(s, 1, RLENGTH)
    # A blanket impl (`<T as alloc::string::ToString>::to_string`) is
    # named by its type parameter: it belongs to the trait's crate.
    if (c ~ /^[A-Z]$/ && substr(s, RLENGTH + 1, 4) == " as ") return owner(substr(s, RLENGTH + 5))
    return c == "" ? "?" : c
}

# The name without generic arguments: the key under which the copies of
# one generic function add up. `<T as Trait<U>>::f` keys as
# `<_ as Trait<_>>::f`.
function generic_key(s,    out, depth, i, ch, as) {
    if (substr(s, 1, 1) == "<") {
        depth = 0
        for (i = 2; i <= length(s); i++) {
            ch = substr(s, i, 1)
            if (ch == "<") depth++
            else if (ch == ">") { if (depth == 0) break; depth-- }
            else if (depth == 0 && substr(s, i, 4) == " as ") { s = "<_" substr(s, i); break }
        }
    }
    out = ""; depth = 0
    for (i = 1; i <= length(s); i++) {
        ch = substr(s, i, 1)
        if (ch == "<" && i > 1) {
            if (depth == 0) out = out "<_>"
            depth++; continue
        }
        if (ch == ">" && depth > 0) { depth--; continue }
        if (depth == 0) out = out ch
    }
    return out
}

function is_panic(s) {
    return s ~ /core::panicking|core::panic::|unwrap_failed|expect_failed|slice_start_index_len_fail|slice_end_index_len_fail|slice_index_order_fail|panic_bounds_check|index_out_of_bounds|handle_alloc_error|raw_vec::handle_error|capacity_overflow|slice_error_fail|str_index_overflow_fail|rt::start::panic|len_mismatch_fail|copy_from_slice/
}

$1 == "S" {
    secsize[$2] = $3; secflags[$2] = $4; secorder[++nsec] = $2
    next
}
$1 == "N" { secname[$2] = $3; next }
$1 == "M" { mgroup[$2] += $4; mobj[$2 "\t" $3] += $4; next }
$1 == "MS" { csym[$4] = $2 "\t" $3; next }
$1 == "Y" {
    value = $2; size = $3 + 0; type = $4; ndx = $5
    name = $0
    sub(/^Y +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "", name)
    sec = (ndx in secname) ? secname[ndx] : ndx
    # ARM: bit 0 marks Thumb code; aliases (musl's weak names, functions
    # merged by LLVM) share one address: count each address once.
    key = value "/" size
    if (key in seen) next
    seen[key] = 1
    nsym++
    symname[nsym] = name; symsize[nsym] = size; symsec[nsym] = sec; symtype[nsym] = type
    next
}

END {
    # --- the file
    file_total = 0; nobits = ""
    printf "%-22s %9s\n", "section", "bytes"
    for (i = 1; i <= nsec; i++) {
        n = secorder[i]
        if (secflags[n] !~ /A/) continue
        if (n ~ /^\.(bss|tbss|relro_padding)$/) { nobits = nobits sprintf(" %s %d", n, secsize[n]); continue }
        printf "%-22s %9d\n", n, secsize[n]
        file_total += secsize[n]
    }
    printf "%-22s %9d\n", "(allocated, in file)", file_total
    if (nobits != "") printf "not in the file (zeroed memory):%s\n", nobits

    # --- symbols by origin
    for (i = 1; i <= nsym; i++) {
        n = symname[i]; s = symsize[i]; sec = symsec[i]
        if (sec ~ /^\.(bss|tbss)/) { bss_named += s; continue }
        if (sec ~ /^\.text/) kind = "code"; else kind = "data"
        if (n ~ /^\.L/) o = "(anonymous constants)"
        else if (n ~ /^OUTLINED_FUNCTION_/) o = "(machine outliner)"
        else if (n !~ /::/ && n !~ /^</) {
            if (n in csym) { split(csym[n], g, "\t"); o = "C: " g[1] }
            else if (n ~ /^(main|rust_eh_personality|_Unwind_Resume|__aeabi_unwind_cpp_pr[01])$/) o = "pmtr::rt"
            else if (n ~ /^__(rust|rg|rdl)_/) o = "alloc"
            else o = "C: ?"        # a static symbol that GNU ld's map does not list
        } else o = owner(n)
        if (o ~ /^pmtr::/) { by["pmtr", kind] += s; total_pmtr += s }
        by[o, kind] += s; origins[o] = 1
        named[kind] += s
        if (sec == ".rodata") rodata_named += s
        if (n ~ /core::fmt/) { fmt[kind] += s; fmt_n++ }
        if (n ~ /as core::fmt::(Debug|LowerHex|UpperHex)>/) { fmt_debug += s; fmt_debug_n++ }
        if (n ~ /core::fmt::num|fmt::num::imp|as core::fmt::Display>::fmt$/ && owner(n) == "core") fmt_int += s
        if (n ~ /^core::fmt::Formatter|^core::fmt::write|^core::fmt::Arguments|core::fmt::builders/) fmt_core += s
        if (n ~ /^core::ptr::drop_(in_place<|glue::<)/) { drops += s; ndrops++ }
        if (is_panic(n)) { panic += s; npanic++ }
        k = generic_key(n)
        if (k != n) { gbytes[k] += s; gcount[k]++ }
    }

    print ""
    printf "%-26s %9s %9s %9s\n", "by origin (named symbols)", "code", "data", "total"
    # Fixed order: pmtr's modules, the Rust crates, the C side.
    norder = 0
    for (o in origins) list[++norder] = o
    # insertion sort by name
    for (i = 2; i <= norder; i++) { v = list[i]; j = i - 1; while (j > 0 && list[j] > v) { list[j + 1] = list[j]; j-- } list[j + 1] = v }
    printf "%-26s %9d %9d %9d\n", "pmtr (all modules)", by["pmtr", "code"], by["pmtr", "data"], by["pmtr", "code"] + by["pmtr", "data"]
    for (i = 1; i <= norder; i++) if (list[i] ~ /^pmtr::/)
        printf "  %-24s %9d %9d %9d\n", list[i], by[list[i], "code"], by[list[i], "data"], by[list[i], "code"] + by[list[i], "data"]
    for (i = 1; i <= norder; i++) if (list[i] !~ /^pmtr::/ && list[i] !~ /^C: /)
        printf "%-26s %9d %9d %9d\n", list[i], by[list[i], "code"], by[list[i], "data"], by[list[i], "code"] + by[list[i], "data"]
    for (i = 1; i <= norder; i++) if (list[i] ~ /^C: /)
        printf "%-26s %9d %9d %9d\n", list[i], by[list[i], "code"], by[list[i], "data"], by[list[i], "code"] + by[list[i], "data"]
    printf "%-26s %9d %9d %9d\n", "(all named)", named["code"], named["data"], named["code"] + named["data"]
    if (".rodata" in secsize)
        printf "%-26s %9s %9d   (string literals, panic locations, tables, vtables)\n", "unnamed in .rodata", "", secsize[".rodata"] - rodata_named
    if (".text" in secsize)
        printf "%-26s %9d %9s   (alignment padding, code without a symbol)\n", "unnamed .text", secsize[".text"] - named["code"], ""
    if (bss_named) printf "%-26s %9s %9d   (not in the file)\n", "named .bss", "", bss_named

    print ""
    print "cross-cutting (bytes of named symbols, whatever their crate):"
    printf "  %-52s %9d (%d functions)\n", "core::fmt, all (every name with core::fmt in it)", fmt["code"] + fmt["data"], fmt_n
    printf "  %-52s %9d\n", "  of which the machinery (Formatter, write, builders)", fmt_core
    printf "  %-52s %9d\n", "  of which core's integer/primitive Display", fmt_int
    printf "  %-52s %9d (%d impls)\n", "  of which Debug/hex impls", fmt_debug, fmt_debug_n
    printf "  %-52s %9d (%d functions)\n", "panic paths (panicking, unwrap/expect, bounds, alloc)", panic, npanic
    printf "  %-52s %9d (%d types)\n", "drop glue (core::ptr::drop_in_place<T>, drop_glue)", drops, ndrops

    # --- generics instantiated more than once
    print ""
    print "generic functions with more than one copy (bytes, copies):"
    ng = 0
    for (k in gbytes) if (gcount[k] > 1) { gk[++ng] = k }
    for (i = 2; i <= ng; i++) { v = gk[i]; j = i - 1; while (j > 0 && gbytes[gk[j]] < gbytes[v]) { gk[j + 1] = gk[j]; j-- } gk[j + 1] = v }
    for (i = 1; i <= ng && i <= top; i++) printf "  %9d %3d  %s\n", gbytes[gk[i]], gcount[gk[i]], substr(gk[i], 1, 110)

    # --- C objects
    nm = 0
    for (k in mobj) { split(k, g, "\t"); if (g[1] != "rust") mk[++nm] = k }
    if (nm) {
        print ""
        printf "C side by group (linker map, allocated input sections in the file):"
        for (k in mgroup) printf "  %s %d", k, mgroup[k]
        print ""
        for (i = 2; i <= nm; i++) { v = mk[i]; j = i - 1; while (j > 0 && mobj[mk[j]] < mobj[v]) { mk[j + 1] = mk[j]; j-- } mk[j + 1] = v }
        print "largest C objects:"
        line = ""
        for (i = 1; i <= nm && i <= top * 2; i++) {
            split(mk[i], g, "\t")
            line = line sprintf("  %6d %-26s", mobj[mk[i]], substr(g[1] ":" g[2], 1, 26))
            if (i % 3 == 0) { print line; line = "" }
        }
        if (line != "") print line
    }

    # --- largest symbols
    print ""
    print "largest symbols (bytes, section, name):"
    for (i = 1; i <= nsym; i++) idx[i] = i
    # partial selection of the top N
    for (i = 1; i <= top && i <= nsym; i++) {
        best = i
        for (j = i + 1; j <= nsym; j++) if (symsize[idx[j]] > symsize[idx[best]]) best = j
        t = idx[i]; idx[i] = idx[best]; idx[best] = t
        printf "  %7d %-8s %s\n", symsize[idx[i]], substr(symsec[idx[i]], 1, 8), substr(symname[idx[i]], 1, 120)
    }
}
