#!/bin/bash
# 311-download-hostile-paths: a hostile endpoint (a compromised mirror) that lists paths the
# real Hub cannot hold - .git/config (with core.fsmonitor, which 'git status' would run),
# .GIT/hooks/..., a .cache/huggingface/download/*.metadata that would overwrite a local
# dir's own metadata - is refused before anything is placed: exit 8 (the source is wrong,
# not a bug: not 1), the path named, a hint about HF_ENDPOINT. Red-team findings 5 and 10.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_bootstrap

"$PYTHON" "$MOCK_HUB_PY" --make-config fake-model "$T/config.json" >/dev/null
"$PYTHON" - "$T/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
evil = {
    "git": [{"path": ".git/config", "text": "[core]\n\tfsmonitor = touch PWNED\n"}],
    "gitcase": [{"path": "sub/.GIT/hooks/post-checkout", "text": "#!/bin/sh\ntouch PWNED\n"}],
    "meta": [{"path": ".cache/huggingface/download/config.json.metadata", "text": "x\n0\n"}],
}
for name, files in evil.items():
    c["repos"].append({"id": "evil/" + name, "type": "model", "gated": False,
                       "files": files + [{"path": "config.json", "text": "{}"}]})
json.dump(c, open(p, "w"))
PY
mock_start --config "$T/config.json"

for name in git gitcase meta; do
    run_bs -- download "evil/$name" --local-dir "$T/local-$name"
    assert_rc 8
    assert_contains "$T/err" "a path the Hub cannot hold"
    assert_contains "$T/err" "HF_ENDPOINT"
    [ ! -e "$T/local-$name/.git" ] || fail "$name: a .git folder was placed"
    [ -z "$(find "$T/local-$name" -name 'config.json' 2>/dev/null)" ] || fail "$name: files were placed"
    [ ! -e "$T/local-$name/PWNED" ] || fail "$name: something ran"
done
assert_contains "$T/runs/1.err" "'.git/config'"
