#!/bin/bash
# 514-options: one option parser for every command (issue 14 #10, #15).
#   - the same grammar everywhere: "--opt VALUE" and "--opt=VALUE" (whoami --wait-for-access
#     was refused in the space form), -h/--help anywhere, "help --help";
#   - a near miss is named with a suggestion (--verison -> --version), a flag given a value
#     says so without echoing the value, a missing value says which option;
#   - every option each --help lists is accepted by that command (the help is made from the
#     same table the parser reads, so none can be listed and refused);
#   - the 'hf download' flags users type: --cache-dir works, the others get a pointer.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap

# space and = forms; whoami's optional value
run_bs -- whoami --wait-for-access 5
assert_rc 2
assert_contains "$T/err" "--wait-for-access needs --check-access REPO"
run_bs -- whoami --wait-for-access=5
assert_contains "$T/err" "--wait-for-access needs --check-access REPO"
run_bs -- whoami --wait-for-access
assert_contains "$T/err" "--wait-for-access needs --check-access REPO"
run_bs -- whoami --wait-for-access 0
assert_rc 2
assert_contains "$T/err" "bad --wait-for-access '0'"

# help everywhere
for c in run status detect login logout whoami download unpack; do
    run_bs -- "$c" --help
    assert_rc 0
    assert_contains "$T/out" "bootstrap $c - "
    run_bs -- help "$c"
    assert_rc 0
    run_bs -- "$c" --bogus-option
    assert_rc 2
    assert_contains "$T/err" "$c: unknown option '--bogus-option'"
    assert_contains "$T/err" "try 'bootstrap $c --help'"
done
run_bs -- help --help
assert_rc 0
assert_contains "$T/out" "COMMANDS"

# near misses, values of flags, missing values
run_bs -- --verison
assert_rc 2
assert_contains "$T/err" "did you mean '--version'?"
run_bs -- download --conections 4 a/b
assert_contains "$T/err" "did you mean '--connections'?"
run_bs -- download a/b --connections
assert_rc 2
assert_contains "$T/err" "option '--connections' needs a value"
[ "$(grep -c . "$T/err")" -eq 2 ] || fail "one error line and one hint, not more: $(cat "$T/err")"
run_bs -- login --force=hf_notechoedatall0123456789
assert_rc 2
assert_contains "$T/err" "option '--force' takes no value"
assert_not_contains "$T/err" "notechoed"
run_bs -- login hf_notechoedatall0123456789
assert_rc 2
assert_not_contains "$T/err" "notechoed"

# every option in every help is accepted: given a value of the right kind, the error (if
# any) is never "unknown option"
for c in run status detect login logout whoami download unpack; do
    run_bs -- "$c" --help
    sed -n '/^OPTIONS/,/^$/p' "$T/out" | grep -oE '^    (-., )?--[a-z0-9-]+(\[?=?[ ]?[A-Z]+)?' |
        sed -E 's/^ *(-., )?//' >"$T/opts.$c"
    [ -s "$T/opts.$c" ] || fail "$c: no options in its help"
    while read -r name arg; do
        [ "$name" = --help ] && continue
        case $name in *'[='*) name=${name%%\[*} ;; esac
        if [ -n "$arg" ]; then
            run_bs -- "$c" "$name" 1 --no-such-option-either
        else
            run_bs -- "$c" "$name" --no-such-option-either
        fi
        assert_not_contains "$T/err" "unknown option '$name'"
    done <"$T/opts.$c"
done

# hf download habits
run_bs -- download a/b --max-workers 8
assert_rc 2
assert_contains "$T/err" "use --connections N"
run_bs -- download a/b --force-download
assert_contains "$T/err" "--force-download is not needed"
run_bs -- download a/b --dry-run
assert_contains "$T/err" "--dry-run is not supported"
run_bs -- download a/b config.json
assert_rc 2
assert_contains "$T/err" "--include FILE"
run_bs -- download a/b --repo-type space
assert_rc 2
assert_contains "$T/err" "--repo-type is one of: model,dataset"

mock_start
REPO=fishaudio/openaudio-s1-mini
run_bs HF_TOKEN="$TOKEN_OK" -- download "$REPO" --cache-dir "$T/elsewhere" --include config.json
assert_rc 0
[ -f "$T/elsewhere/models--fishaudio--openaudio-s1-mini/refs/main" ] ||
    fail "--cache-dir: nothing in $T/elsewhere"
[ ! -e "$T/hf/hub/models--fishaudio--openaudio-s1-mini" ] || fail "--cache-dir: the default cache was used"
echo "ok"
