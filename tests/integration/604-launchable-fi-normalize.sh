#!/bin/bash
# 604-launchable-fi-normalize: launchable/fi_normalize.py writes Finnish numbers as words:
# cardinals, thousands groups, decimals, negatives, ordinals, dates, times, units, case
# endings, leading zeros; text without digits passes unchanged. A table of cases.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
N=$REPO_ROOT/launchable/fi_normalize.py

"$PYTHON" - "$N" <<'EOF2' || fail "fi_normalize cases"
import importlib.util, sys
spec = importlib.util.spec_from_file_location("fi_normalize", sys.argv[1])
n = importlib.util.module_from_spec(spec)
spec.loader.exec_module(n)
cardinals = {
    0: "nolla", 1: "yksi", 7: "seitsemän", 10: "kymmenen", 11: "yksitoista", 12: "kaksitoista",
    19: "yhdeksäntoista", 20: "kaksikymmentä", 21: "kaksikymmentäyksi", 99: "yhdeksänkymmentäyhdeksän",
    100: "sata", 101: "satayksi", 110: "satakymmenen", 200: "kaksisataa", 999: "yhdeksänsataayhdeksänkymmentäyhdeksän",
    1000: "tuhat", 1001: "tuhatyksi", 2000: "kaksituhatta", 1995: "tuhatyhdeksänsataayhdeksänkymmentäviisi",
    2024: "kaksituhattakaksikymmentäneljä", 10000: "kymmenentuhatta", 100000: "satatuhatta",
    1000000: "miljoona", 2000000: "kaksi miljoonaa", 2500000: "kaksi miljoonaa viisisataatuhatta",
    1000000000: "miljardi", 3000000001: "kolme miljardia yksi",
}
ordinals = {1: "ensimmäinen", 2: "toinen", 3: "kolmas", 10: "kymmenes", 11: "yhdestoista",
            12: "kahdestoista", 20: "kahdeskymmenes", 21: "kahdeskymmenesensimmäinen",
            22: "kahdeskymmenestoinen", 100: "sadas", 1000: "tuhannes"}
texts = {
    "Vuonna 1995 oli kylmä.": "Vuonna tuhatyhdeksänsataayhdeksänkymmentäviisi oli kylmä.",
    "Hinta on 3,5 euroa.": "Hinta on kolme pilkku viisi euroa.",
    "Lämpötila oli -5 °C.": "Lämpötila oli miinus viisi celsiusastetta.",
    "Kasvu oli 1 % ja 12 %.": "Kasvu oli yksi prosentti ja kaksitoista prosenttia.",
    "Maksoi 1 € tai 25 €.": "Maksoi yksi euro tai kaksikymmentäviisi euroa.",
    "Paikalla oli 10 000 ihmistä.": "Paikalla oli kymmenentuhatta ihmistä.",
    "Se tapahtui 5. kesäkuuta.": "Se tapahtui viides kesäkuuta.",
    "Päivä 1.5.2020 oli lauantai.": "Päivä ensimmäinen viidettä kaksituhattakaksikymmentä oli lauantai.",
    "Juna lähtee klo 12.30 asemalta.": "Juna lähtee klo kaksitoista kolmekymmentä asemalta.",
    "Koodi 007 toimii.": "Koodi nolla nolla seitsemän toimii.",
    "Hän tuli 3:lla junalla.": "Hän tuli kolmella junalla.",
    "Matka oli 42 km.": "Matka oli neljäkymmentäkaksi kilometriä.",
    "Ei numeroita,  vain   tekstiä.": "Ei numeroita, vain tekstiä.",
    "Äänestys päättyi vuonna 2019.": "Äänestys päättyi vuonna kaksituhattayhdeksäntoista.",
}
bad = []
for k, v in cardinals.items():
    if n.cardinal(k) != v: bad.append(("cardinal", k, n.cardinal(k), v))
for k, v in ordinals.items():
    if n.ordinal(k) != v: bad.append(("ordinal", k, n.ordinal(k), v))
for k, v in texts.items():
    if n.normalize(k) != v: bad.append(("text", k, n.normalize(k), v))
for b in bad:
    print("%s %r: got %r, want %r" % b)
if any(c.isdigit() for c in n.normalize("1 2 3 45 678 9012 34567 890123")):
    print("digits left"); bad.append(1)
sys.exit(1 if bad else 0)
EOF2

# the command line: arguments, and stdin line by line
out=$("$PYTHON" "$N" "Vuonna 2000." "5 %")
assert_eq "$out" "Vuonna kaksituhatta.
viisi prosenttia"
out=$(printf '1\n2\n' | "$PYTHON" "$N")
assert_eq "$out" "yksi
kaksi"
