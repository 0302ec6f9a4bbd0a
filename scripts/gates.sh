#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Hardening gates: sanitizers, fuzzing, static analysis, valgrind.
#
#   scripts/gates.sh [sanitizers|fuzz|static|valgrind|all]...   (default: all)
#
# Each stage builds in its own directory under build-gates/ and exits
# non-zero on any finding; `all` runs every stage, reports each, and fails
# if any failed.  CONTRIBUTING.md says what each stage checks and how to
# reproduce a finding.  Runs as root: it installs missing tools with apt-get
# and the sanitizer stage runs the privileged integration tests.
#
# The stages build from a snapshot of the work tree (build-gates/tree: the
# tracked and untracked-but-not-ignored files, re-synced on every run), not
# from the work tree itself: automake refuses a VPATH build from a source
# tree that is configured in place, and the in-tree build must not be
# disturbed.  The snapshot is also what all stages of one run see, even if
# the tree is edited meanwhile.
#
# Environment:
#   FP_GATES_DIR       build directory (default: <top>/build-gates)
#   FP_GATES_JOBS      parallel jobs (default: nproc)
#   FP_FUZZ_RUNS       libFuzzer -runs per target (default: 200000)
#   FP_FUZZ_MAX_TIME   libFuzzer -max_total_time per target, s (default: 60)
# stage_* and the helpers they use are called indirectly, as "stage_$name".
# shellcheck disable=SC2317
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GATES=${FP_GATES_DIR:-$TOP/build-gates}
SNAP=$GATES/tree
JOBS=${FP_GATES_JOBS:-$(nproc)}
FUZZ_RUNS=${FP_FUZZ_RUNS:-200000}
FUZZ_MAX_TIME=${FP_FUZZ_MAX_TIME:-60}

CLANG=clang-14
CLANG_TIDY=clang-tidy-14
CLANG_FORMAT=clang-format-14
SYMBOLIZER=/usr/lib/llvm-14/bin/llvm-symbolizer

# Tools of the gates; the project's own build dependencies are the DEPS of
# quickstart.sh, read from there so that the list lives in one place.
GATE_PACKAGES=(clang-14 libclang-rt-14-dev llvm-14 cppcheck clang-tidy clang-tidy-14 clang-format
               clang-format-14 valgrind bear git python3)

# Fuzz targets: tests/fuzz/fuzz-<name>.c linked with these src/ files.
FUZZ_TARGETS=(config conntrack sense-event domain-xml footprint-xml footprint-state newlog
              safe-text placement)
declare -A FUZZ_SOURCES=(
    [config]="fp-config.c cpuset.c footprint-model.c atomic-file.c domain-xml.c xml-reader.c safe-text.c fp-error.c"
    [conntrack]="conntrack.c atomic-file.c fp-error.c"
    [sense-event]="sense.c sense-bpf.c sense-bpf-netfilter.c sense-bpf-fentry.c sense-ctnetlink.c newlog.c flow-table.c
                   conntrack.c conntrack-scan.c loop-watch.c bpf-netfilter.c fp-config.c cpuset.c footprint-model.c atomic-file.c
                   domain-xml.c xml-reader.c safe-text.c fp-error.c"
    [domain-xml]="domain-xml.c xml-reader.c safe-text.c fp-error.c"
    [footprint-xml]="footprint-model.c atomic-file.c domain-xml.c xml-reader.c safe-text.c fp-error.c"
    [footprint-state]="footprint-model.c atomic-file.c domain-xml.c xml-reader.c safe-text.c fp-error.c"
    [newlog]="newlog.c"
    [safe-text]="safe-text.c fp-error.c"
    [placement]="placement-json.c host-summary.c fp-config.c cpuset.c footprint-model.c atomic-file.c
                 domain-xml.c xml-reader.c safe-text.c fp-error.c"
)
FUZZ_PKGS="glib-2.0 json-glib-1.0 libnl-nf-3.0 libnl-3.0 libxml-2.0 libbpf"

# Files each static check looks at (paths relative to the top).
FORMAT_GLOBS='^((src|tuning)/[^/]+\.[ch]|tests/(unit|fuzz|perf|integration)/[^/]+\.[ch]|bpf/[^/]+\.[ch])$'
# bpf/*.bpf.c are built with clang -target bpf against kernel-types.h: host
# C checks do not apply (the verifier is their analyser).  Not for tidy.
ANALYSE_GLOBS='^(src|tuning|tests/(unit|fuzz|perf|integration))/[^/]+\.c$'

say() { printf 'gates: %s\n' "$*"; }
die() { printf 'gates: error: %s\n' "$*" >&2; exit 2; }

# ---- setup ------------------------------------------------------------------

ensure_packages() {
    local deps=() missing=() p
    # shellcheck disable=SC1090 # DEPS=( ... ) block of quickstart.sh
    eval "$(sed -n '/^DEPS=(/,/^)/p' "$TOP/quickstart.sh" 2>/dev/null)" 2>/dev/null || true
    deps=("${DEPS[@]:-}" "${GATE_PACKAGES[@]}")
    for p in "${deps[@]}"; do
        [ -n "$p" ] || continue
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} = 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}); run as root to install them"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || die "apt-get update failed"
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed"
}

# sync_tree: mirror the work tree's source files into $SNAP; only changed
# files are copied (so make rebuilds only what changed), files that left the
# tree leave the snapshot.
sync_tree() {
    local list=$GATES/manifest f

    mkdir -p "$SNAP"
    # build-gates/ holds build products only: keep it out of `git status`.
    [ -f "$GATES/.gitignore" ] || printf '# scripts/gates.sh build directory\n*\n' >"$GATES/.gitignore"
    git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
        die "$TOP is not a git work tree (the snapshot is made from git's file list)"
    git -C "$TOP" ls-files -co --exclude-standard | grep -v '^build-gates/' | sort >"$list.new"
    while IFS= read -r f; do
        [ -f "$TOP/$f" ] || continue
        cmp -s "$TOP/$f" "$SNAP/$f" 2>/dev/null && continue
        mkdir -p "$(dirname "$SNAP/$f")"
        cp --preserve=mode "$TOP/$f" "$SNAP/$f"
    done <"$list.new"
    if [ -f "$list" ]; then
        comm -23 "$list" "$list.new" | while IFS= read -r f; do rm -f "$SNAP/$f"; done
    fi
    mv "$list.new" "$list"
    if [ ! -x "$SNAP/configure" ]; then
        (cd "$SNAP" && ./autogen.sh) >"$GATES/autogen.log" 2>&1 ||
            { tail -20 "$GATES/autogen.log"; die "autogen.sh failed in $SNAP"; }
    fi
}

# configure_build STAGE [CONFIGURE-ARGS...]: a configured build dir for STAGE.
configure_build() {
    local dir=$GATES/$1
    shift
    mkdir -p "$dir"
    if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.gates-configure" 2>/dev/null)" != "$*" ]; then
        (cd "$dir" && "$SNAP/configure" --sysconfdir=/etc --localstatedir=/var "$@") \
            >"$dir/configure.log" 2>&1 || { tail -30 "$dir/configure.log"; return 1; }
        echo "$*" >"$dir/.gates-configure"
    fi
}

# run_make DIR LOG [ARGS...]: make, showing the end of the log on failure.
run_make() {
    local dir=$1 log=$2
    shift 2
    make -C "$dir" -j"$JOBS" "$@" >"$log" 2>&1 && return 0
    grep -E 'error|Error' "$log" | head -30
    say "make $* failed in $dir, see $log"
    return 1
}

# ---- sanitizers -------------------------------------------------------------

# sanitizer_check DIR REPORTS [ASAN-EXTRA]: make check with the sanitizers
# writing their reports to REPORTS.
sanitizer_check() {
    local dir=$1 reports=$2 extra=${3:-}

    rm -rf "$reports"
    mkdir -p "$reports"
    # Every sanitized process (unit tests, footprintd and footprintctl in
    # the integration tests) writes its report to $reports, so a report is
    # seen even when a test does not look at the exit status.  Leak checking
    # is on; no LSan suppression is needed today (libraries' one-time
    # allocations stay reachable, which LSan does not report): if one ever
    # is, add it to an LSAN_OPTIONS=suppressions= file with a comment.
    G_DEBUG=fatal-warnings G_SLICE=always-malloc \
        ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:log_path=$reports/asan$extra" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan" \
        make -C "$dir" -j"$JOBS" check
}

stage_sanitizers() {
    local dir=$GATES/sanitizers reports=$GATES/sanitizers/reports rc=0 f n=0

    configure_build sanitizers --enable-sanitizers || return 1
    run_make "$dir" "$dir/build.log" || return 1
    sanitizer_check "$dir" "$reports" >"$dir/check.log" 2>&1 || rc=1
    [ -f "$dir/tests/test-suite.log" ] &&
        say "sanitizers: make check: $(sed -n 's/^# \(TOTAL\|PASS\|SKIP\|FAIL\|ERROR\): *\([0-9]*\)/\1 \2/p' \
            "$dir/tests/test-suite.log" | paste -sd' ')"
    if [ "$rc" != 0 ]; then
        grep -E '^(FAIL|ERROR|XPASS): |Bail out!' "$dir/tests/test-suite.log" 2>/dev/null |
            grep -v -x -E '(FAIL|ERROR|XPASS): [^ ]+' | head -20 | sed 's/^/    /'
        say "sanitizers: make check failed, see $dir/tests/test-suite.log"
    fi
    for f in "$reports"/*; do
        [ -f "$f" ] && n=$((n + 1))
    done
    [ $n = 0 ] && return "$rc"
    # GLib is built without frame pointers: the fast unwinder stops every
    # leak's stack at g_malloc().  Full stacks cost too much to run with
    # always (test time bounds fail), so when there is a report, run the
    # tests once more with the slow unwinder just to show where it comes from.
    say "sanitizers: $n reports; running make check again for full stacks"
    sanitizer_check "$dir" "$reports-full" ":fast_unwind_on_malloc=0" >"$dir/check-full.log" 2>&1
    n=0
    for f in "$reports-full"/*; do
        [ -f "$f" ] || continue
        n=$((n + 1))
        [ $n -le 6 ] || continue
        say "sanitizers: $f:"
        grep -E -m1 'ERROR: |runtime error' "$f" | sed 's/^/    /'
        grep -E -m4 "^ +#[0-9]+ 0x[0-9a-f]+ in .* $SNAP/" "$f" | sed "s|$SNAP/||; s/^/    /"
    done
    say "sanitizers: reports with full stacks in $reports-full, the gate's own in $reports"
    return 1
}

# ---- fuzz -------------------------------------------------------------------

fuzz_one() {
    local t=$1 dir=$GATES/fuzz dict=() rc=0

    mkdir -p "$dir/corpus/$t" "$dir/artifacts"
    rm -f "$dir/artifacts/$t-"*
    [ -f "$SNAP/tests/fuzz/$t.dict" ] && dict=(-dict="$SNAP/tests/fuzz/$t.dict")
    # New inputs go to the first directory (scratch), never into the seeds.
    G_DEBUG=fatal-warnings G_SLICE=always-malloc \
        ASAN_OPTIONS="detect_leaks=1:symbolize=1:external_symbolizer_path=$SYMBOLIZER" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        "$dir/fuzz-$t" -runs="$FUZZ_RUNS" -max_total_time="$FUZZ_MAX_TIME" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
        -artifact_prefix="$dir/artifacts/$t-" "$dir/corpus/$t" "$SNAP/tests/fuzz/corpus/$t" \
        >"$dir/$t.log" 2>&1 || rc=$?
    echo "$rc" >"$dir/$t.rc"
}

stage_fuzz() {
    local dir=$GATES/fuzz obj=$GATES/fuzz/obj rc=0 t s cflags=() warn libs targets=() srcs
    local runs secs cov n

    configure_build fuzz || return 1
    # config.h and the BPF skeleton headers sense.c includes.
    run_make "$dir/bpf" "$dir/bpf.log" || return 1
    mkdir -p "$obj"
    : >"$dir/compile.log"
    warn=$(sed -n 's/^WARN_CFLAGS = //p' "$dir/Makefile")
    # shellcheck disable=SC2207 # pkg-config output is meant to be split
    cflags=(-g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all -I"$dir" -I"$dir/bpf"
            -I"$SNAP/src" -I"$SNAP/bpf" -I"$SNAP/tests/fuzz" $(pkg-config --cflags $FUZZ_PKGS)
            -DG_LOG_DOMAIN='"footprintd"' -DSYSCONFDIR='"/etc"')
    libs="$(pkg-config --libs $FUZZ_PKGS) -lm" || return 1

    for t in "${FUZZ_TARGETS[@]}"; do
        srcs=${FUZZ_SOURCES[$t]}
        local extra=""
        if [ "$t" = domain-xml ]; then
            if [ ! -f "$SNAP/src/domain-xml.c" ]; then
                say "fuzz-$t: skipped: src/domain-xml.c is not in the tree"
                continue
            fi
            # Also turn accepted domains into JSON when vm-json.c is there.
            [ -f "$SNAP/src/vm-json.c" ] && { srcs+=" vm-json.c"; extra=-DFP_FUZZ_HAVE_VM_JSON; }
        fi
        # The harness with the project's warnings, as errors; src/ as built.
        # shellcheck disable=SC2086
        $CLANG "${cflags[@]}" $warn -Werror $extra -fsanitize=fuzzer-no-link,address,undefined \
            -c "$SNAP/tests/fuzz/fuzz-$t.c" -o "$obj/fuzz-$t.o" || { rc=1; continue; }
        local objs=("$obj/fuzz-$t.o")
        for s in $srcs; do
            if [ ! -f "$obj/${s%.c}.o" ] || [ "$SNAP/src/$s" -nt "$obj/${s%.c}.o" ]; then
                # shellcheck disable=SC2086
                $CLANG "${cflags[@]}" $warn -fsanitize=fuzzer-no-link,address,undefined \
                    -c "$SNAP/src/$s" -o "$obj/${s%.c}.o" 2>>"$dir/compile.log" ||
                    { tail -20 "$dir/compile.log"; rc=1; continue 2; }
            fi
            objs+=("$obj/${s%.c}.o")
        done
        # shellcheck disable=SC2086
        $CLANG -fsanitize=fuzzer,address,undefined "${objs[@]}" $libs -o "$dir/fuzz-$t" ||
            { rc=1; continue; }
        # Seeds named valid-*/invalid-* must still be accepted/refused.
        if ! FP_FUZZ_SEED_CHECK=1 G_DEBUG=fatal-warnings "$dir/fuzz-$t" \
            "$SNAP/tests/fuzz/corpus/$t" >"$dir/$t.seeds.log" 2>&1; then
            grep -v '^seed-check: .*: \(accepted\|refused\)' "$dir/$t.seeds.log" | head -20
            say "fuzz-$t: seed check failed, see $dir/$t.seeds.log"
            rc=1
            continue
        fi
        targets+=("$t")
    done
    # Header changes are not tracked per object: rebuild all next time.
    rm -f "$obj"/*.o
    # src/ is built with clang here, whose warnings gcc's build may not show.
    n=$(grep -c 'warning:' "$dir/compile.log")
    [ "$n" = 0 ] || say "fuzz: clang: $n warnings in src/ (not fatal here), see $dir/compile.log"

    for t in "${targets[@]}"; do
        while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
        fuzz_one "$t" &
    done
    wait
    for t in "${targets[@]}"; do
        runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p' "$dir/$t.log")
        secs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$dir/$t.log")
        cov=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$dir/$t.log" | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[^ ]*' | tail -1)
        if [ "$(cat "$dir/$t.rc")" != 0 ] || [ -z "$runs" ]; then
            rc=1
            say "fuzz-$t: FAILED after $(grep -o '^#[0-9]*' "$dir/$t.log" | tail -1 | tr -d '#') executions"
            grep -E -m3 'ERROR: |runtime error:|^fuzz: |SUMMARY' "$dir/$t.log"
            grep -E -m3 "^ +#[0-9]+ 0x[0-9a-f]+ in .* $SNAP/" "$dir/$t.log" | sed "s|$SNAP/||"
            grep -E 'Test unit written to' "$dir/$t.log"
            say "fuzz-$t: reproduce: $dir/fuzz-$t <artifact>; full log: $dir/$t.log"
        else
            say "fuzz-$t: $runs runs in ${secs}s ($cov)"
        fi
    done
    return "$rc"
}

# ---- static -----------------------------------------------------------------

stage_static() {
    local dir=$GATES/static rc=0 n files=() analyse=() db f re
    local pkgs="glib-2.0 gio-2.0 gio-unix-2.0 json-glib-1.0 libbpf libnl-3.0 libnl-nf-3.0"
    pkgs+=" libnl-route-3.0 libsystemd libxml-2.0"

    mapfile -t files < <(grep -E "$FORMAT_GLOBS" "$GATES/manifest")
    mapfile -t analyse < <(grep -E "$ANALYSE_GLOBS" "$GATES/manifest")

    # 1. clang-format: the root .clang-format, no diff allowed.
    if ! (cd "$SNAP" && $CLANG_FORMAT --dry-run -Werror "${files[@]}") >"$GATES/format.log" 2>&1; then
        rc=1
        n=$(grep -c ': error: code should be clang-formatted' "$GATES/format.log")
        say "static: clang-format: $n places in $(grep ': error: code should be clang-formatted' \
            "$GATES/format.log" | cut -d: -f1 | sort -u | wc -l) files differ from .clang-format:"
        grep ': error: code should be clang-formatted' "$GATES/format.log" | cut -d: -f1 | sort |
            uniq -c | sed 's/^/    /'
        say "static: see the diff with: clang-format-14 FILE | diff -u FILE -"
    else
        say "static: clang-format: ${#files[@]} files clean"
    fi

    # 2. A clang build under bear for compile_commands.json (config.h too).
    configure_build static CC="$CLANG" CFLAGS="-O0 -g" || return 1
    make -C "$dir" clean >/dev/null 2>&1
    (cd "$dir" && bear --output "$dir/compile_commands.json" -- make -j"$JOBS" check TESTS=) \
        >"$dir/build.log" 2>&1 || { grep -E 'error' "$dir/build.log" | head -20; say "static: build failed"; return 1; }
    # Sources make does not build (fuzz targets, files not yet in a
    # Makefile.am): compile them -fsyntax-only under bear with the same flags.
    db=$(python3 -c 'import json, sys; print("\n".join(e["file"] for e in json.load(open(sys.argv[1]))))' \
        "$dir/compile_commands.json")
    for f in "${analyse[@]}"; do
        grep -qxF "$SNAP/$f" <<<"$db" && continue
        # shellcheck disable=SC2046
        (cd "$dir" && bear --append --output "$dir/compile_commands.json" -- \
            $CLANG -fsyntax-only $(sed -n 's/^WARN_CFLAGS = //p' "$dir/Makefile") -I"$dir" -I"$dir/bpf" \
            -I"$dir/src" -I"$SNAP/src" -I"$SNAP/tuning" -I"$SNAP/bpf" -I"$SNAP/tests/fuzz" \
            $(pkg-config --cflags $pkgs) -DG_LOG_DOMAIN=\"footprintd\" -DSYSCONFDIR=\"/etc\" \
            -DFP_TEST_DATA_DIR=\"$SNAP/tests/data\" -DFP_TOP_SRCDIR=\"$SNAP\" \
            $([ -f "$SNAP/src/vm-json.c" ] && echo -DFP_FUZZ_HAVE_VM_JSON) "$SNAP/$f") \
            >>"$dir/build.log" 2>&1 || { rc=1; say "static: $f does not compile, see $dir/build.log"; }
    done

    # 3. cppcheck: the C checks without system headers (GLib is described by
    # cppcheck's gtk library file); .cppcheck-suppressions says why for each
    # suppression.
    if ! (cd "$SNAP" && cppcheck --quiet --error-exitcode=1 -j "$JOBS" --std=c11 \
        --enable=warning,style,performance,portability --library=gtk --library=posix \
        --inline-suppr --suppressions-list=.cppcheck-suppressions --suppress=missingIncludeSystem \
        -I src -I tuning -I bpf -I "$dir" -I "$dir/bpf" -DG_LOG_DOMAIN='"footprintd"' \
        -D'G_GNUC_PRINTF(a,b)=' \
        --template='{file}:{line}: {severity}: {message} [{id}]' "${analyse[@]}") \
        >"$GATES/cppcheck.log" 2>&1; then
        rc=1
        say "static: cppcheck: $(grep -c '^[^ ]*:[0-9]*: ' "$GATES/cppcheck.log") findings:"
        sed 's/^/    /' "$GATES/cppcheck.log" | head -40
    else
        say "static: cppcheck: ${#analyse[@]} files clean"
    fi

    # 4. clang-tidy with the root .clang-tidy; headers of the tree only
    # (not the generated skeletons and introspection.h of the build dir).
    re=$(printf '%s' "$SNAP" | sed 's/[][\.*^$()+?{}|]/\\&/g')
    if ! printf "$SNAP/%s\n" "${analyse[@]}" | xargs -P "$JOBS" -n 1 $CLANG_TIDY -p "$dir" --quiet \
        --header-filter="^$re/(src|tuning|bpf|tests)/" >"$GATES/clang-tidy.log" 2>&1; then
        rc=1
        n=$(grep -cE '^/[^ ]*:[0-9]+:[0-9]+: (error|warning):' "$GATES/clang-tidy.log")
        say "static: clang-tidy: $n findings:"
        grep -E '^/[^ ]*:[0-9]+:[0-9]+: (error|warning):' "$GATES/clang-tidy.log" |
            sed "s|^$SNAP/|    |" | sort -u | head -60
        say "static: full output: $GATES/clang-tidy.log"
    else
        say "static: clang-tidy: ${#analyse[@]} files clean"
    fi
    return "$rc"
}

# ---- valgrind ---------------------------------------------------------------

# Test cases not run under valgrind (GLib's -s TESTPATH), each with the
# reason.  Remove an entry once the test copes with valgrind's slowdown.
declare -A VALGRIND_SKIP=()

valgrind_one() {
    local t=$1 dir=$GATES/valgrind name rc=0 skip=() p
    name=$(basename "$t")
    for p in ${VALGRIND_SKIP[$name]:-}; do skip+=(-s "$p"); done
    # Leaks: "definitely" and "indirectly" lost fail; "possibly lost" does
    # not (GLib's type system and thread pools keep interior pointers to
    # their one-time allocations).  glib.supp is GLib's own list of its
    # known one-time allocations.
    G_SLICE=always-malloc G_DEBUG=fatal-warnings,gc-friendly \
        valgrind --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --track-origins=yes --num-callers=30 \
        --suppressions=/usr/share/glib-2.0/valgrind/glib.supp --log-file="$dir/$name.valgrind.log" \
        "$t" "${skip[@]}" >"$dir/$name.log" 2>&1 || rc=$?
    echo "$rc" >"$dir/$name.rc"
}

stage_valgrind() {
    local dir=$GATES/valgrind rc=0 t tests=() name

    configure_build valgrind || return 1
    run_make "$dir" "$dir/build.log" check TESTS= || return 1
    for t in "$dir"/tests/unit/test-*; do
        case $t in *.o | *.log | *.trs) continue ;; esac
        [ -f "$t" ] && [ -x "$t" ] && tests+=("$t")
    done
    [ ${#tests[@]} -gt 0 ] || { say "valgrind: no unit test was built"; return 1; }
    for t in "${tests[@]}"; do
        while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
        valgrind_one "$t" &
    done
    wait
    for t in "${tests[@]}"; do
        name=$(basename "$t")
        if [ "$(cat "$dir/$name.rc")" != 0 ]; then
            rc=1
            say "valgrind: $name: FAILED (exit $(cat "$dir/$name.rc"))"
            grep -E -m1 'ERROR SUMMARY' "$dir/$name.valgrind.log"
            # The first two errors, each with the top of its stack.
            grep -E -A5 -m2 'are definitely lost|are indirectly lost|Invalid |uninitialised|Mismatched|Syscall param|overlap' \
                "$dir/$name.valgrind.log" | head -14
            grep -E '^not ok' "$dir/$name.log" | head -5
            say "valgrind: full report: $dir/$name.valgrind.log"
        else
            say "valgrind: $name: $(grep -c '^ok ' "$dir/$name.log") tests, $(grep -o 'ERROR SUMMARY: [0-9]* errors' \
                "$dir/$name.valgrind.log")${VALGRIND_SKIP[$name]:+ (not under valgrind: ${VALGRIND_SKIP[$name]})}"
        fi
    done
    return "$rc"
}

# ---- main -------------------------------------------------------------------

usage() {
    echo "usage: $0 [sanitizers|fuzz|static|valgrind|all]..." >&2
    exit 2
}

stages=()
[ $# = 0 ] && set -- all
for a in "$@"; do
    case $a in
    all) stages+=(static fuzz sanitizers valgrind) ;;
    sanitizers | fuzz | static | valgrind) stages+=("$a") ;;
    -h | --help) usage ;;
    *) usage ;;
    esac
done

ensure_packages
mkdir -p "$GATES"
# One run at a time per build directory.
exec 8>"$GATES/.lock"
flock -n 8 || { say "waiting for another gates.sh run in $GATES"; flock 8; }
sync_tree

failed=0
summary=()
for s in "${stages[@]}"; do
    say "=== $s"
    start=$(date +%s)
    rc=0
    ("stage_$s") || rc=$?
    secs=$(($(date +%s) - start))
    if [ "$rc" = 0 ]; then
        summary+=("$(printf '%-11s PASS %4ss' "$s" "$secs")")
    else
        failed=1
        summary+=("$(printf '%-11s FAIL %4ss' "$s" "$secs")")
    fi
    say "=== $s: $([ "$rc" = 0 ] && echo PASS || echo FAIL) in ${secs}s"
done
say "summary:"
printf '    %s\n' "${summary[@]}"
exit $failed
