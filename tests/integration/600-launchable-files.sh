#!/bin/bash
# 600-launchable-files: the launchable/ folder holds together: startup.sh fits Brev's
# 16 KiB field and starts with #!/bin/bash, the manifest is valid and pins the model,
# the entrypoint and its helpers are there and executable, the Python compiles, and
# every shell script of the project passes shellcheck.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
L=$REPO_ROOT/launchable

size=$(wc -c <"$L/startup.sh")
[ "$size" -le 16384 ] || fail "startup.sh has $size bytes; Brev takes at most 16384"
assert_eq "$(head -n1 "$L/startup.sh")" "#!/bin/bash" "first line of startup.sh"

"$PYTHON" - "$L" <<'EOF2' || fail "launchable.json"
import json, os, re, sys
L = sys.argv[1]
m = json.load(open(os.path.join(L, "launchable.json")))
assert m["schema"] == 1
assert m["model"]["repo"] == "fishaudio/openaudio-s1-mini", m["model"]["repo"]
assert re.fullmatch(r"[0-9a-f]{40}", m["model"]["revision"]), "the model is not pinned to a commit"
assert m["model"]["local_dir"] == "checkpoints/openaudio-s1-mini"
assert set(m["model"]["files"]) >= {"model.pth", "codec.pth", "config.json",
                                    "tokenizer.tiktoken", "special_tokens.json"}
paths = {a["path"] for a in m["artifacts"]}
assert {"data/fi_fi/audio/train.tar.gz", "data/fi_fi/train.tsv"} <= paths, paths
assert m["entrypoint"]["pass_token"] is False
assert m["entrypoint"]["env"]["FISH_SPEECH_COMMIT"] == "d3df50503b36314a964f66cac1af1e19e95bcfa3"
assert "FISH_SPEECH_LORA_FIX" not in m["entrypoint"]["env"]  # our patches replaced it
for a in m["artifacts"]:
    if "repo" in a:
        assert re.fullmatch(r"[0-9a-f]{40}", a["revision"]), ("data not pinned to a commit", a)
entry = os.path.join(L, m["entrypoint"]["path"])
assert os.access(entry, os.X_OK), entry
EOF2
for f in train_finnish.sh demo_entrypoint.sh startup.sh fi_normalize.py prepare_data.py train_gpus.py; do
    [ -x "$L/$f" ] || fail "$f is not executable"
done
[ -f "$L/bootstrap.service" ] || fail "no unit template"
"$PYTHON" -m py_compile "$L/fi_normalize.py" "$L/prepare_data.py" "$L/train_gpus.py" "$L/train_guard.py" ||
    fail "python does not compile"
# every patch of ours applies to the pinned fish-speech (when its archive is here)
ARCHIVE=$REPO_ROOT/../shared/oracles/fish-speech-d3df505.tar.gz
if [ -f "$ARCHIVE" ]; then
    mkdir -p "$T/fs"
    tar -xzf "$ARCHIVE" -C "$T/fs" --strip-components=1
    for p in "$L"/fish-speech-patches/*.patch; do
        (cd "$T/fs" && git apply --check "$p") || fail "$(basename "$p") does not apply to fish-speech d3df505"
    done
fi
rm -rf "$L/__pycache__"

need_cmd shellcheck
mapfile -t scripts < <(
    cd "$REPO_ROOT" &&
        { find launchable scripts tests -name '*.sh' -type f; echo dev.sh; } | sort -u)
[ ${#scripts[@]} -gt 10 ] || fail "found only ${#scripts[@]} shell scripts"
(cd "$REPO_ROOT" && printf '%s\0' "${scripts[@]}" |
    xargs -0 -n 4 -P "$(nproc)" shellcheck -x -P SCRIPTDIR) || fail "shellcheck is not clean"
echo "shellcheck: ${#scripts[@]} scripts clean"
