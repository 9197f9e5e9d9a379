#!/bin/bash
# 604-launchable-fi-normalize: launchable/fi_normalize.py writes Finnish numbers as they are
# read, in the grammatical case the sentence asks for (num2words does the words): case
# endings after a colon, compounds, ordinals agreeing with the next word, cardinals agreeing
# with an inflected noun, years after "vuonna", units, decimals, negatives, times,
# abbreviations; and it refuses (Unsure) what it cannot read with confidence: dates, ranges,
# digits inside words, leading zeros, inflected words after a bare year, "1" before a
# genitive-looking word, -sta/-stä words. Text without digits passes unchanged.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_num2words
N=$REPO_ROOT/launchable/fi_normalize.py

"$PYTHON" - "$N" <<'EOF' || fail "fi_normalize cases"
import importlib.util, sys
spec = importlib.util.spec_from_file_location("fi_normalize", sys.argv[1])
n = importlib.util.module_from_spec(spec)
spec.loader.exec_module(n)
good = {
    # the issue's examples
    "Se alkoi 1. maailmansodan aikana.": "Se alkoi ensimmäisen maailmansodan aikana.",
    "Kokous on 5:ssä kerroksessa.": "Kokous on viidessä kerroksessa.",
    "Korko nousi 10 %:lla.": "Korko nousi kymmenellä prosentilla.",
    "Rakennus valmistui 2000-luvulla.": "Rakennus valmistui kaksituhatluvulla.",
    "Hän muutti Suomeen 10-vuotiaana.": "Hän muutti Suomeen kymmenenvuotiaana.",
    "Noin 20 prosentissa tapauksista.": "Noin kahdessakymmenessä prosentissa tapauksista.",
    "Olet 15 000. kävijä.": "Olet viidestoistatuhannes kävijä.",
    # cardinals, years, units, decimals
    "Vuonna 1995 oli kylmä.": "Vuonna tuhatyhdeksänsataayhdeksänkymmentäviisi oli kylmä.",
    "Äänestys päättyi vuonna 2019.": "Äänestys päättyi vuonna kaksituhattayhdeksäntoista.",
    "Hinta on 3,5 euroa.": "Hinta on kolme pilkku viisi euroa.",
    "Lämpötila oli -5 °C.": "Lämpötila oli miinus viisi celsiusastetta.",
    "Kasvu oli 1 % ja 12 %.": "Kasvu oli yksi prosentti ja kaksitoista prosenttia.",
    "Paikalla oli 10 000 ihmistä.": "Paikalla oli kymmenentuhatta ihmistä.",
    "Matka oli 42 km.": "Matka oli neljäkymmentäkaksi kilometriä.",
    "Väkiluku on 5,25 miljoonaa.": "Väkiluku on viisi pilkku kaksikymmentäviisi miljoonaa.",
    "Kahdessa kaupungissa ja 3 kylässä.": "Kahdessa kaupungissa ja kolmessa kylässä.",
    "Se kesti 5 vuoden ajan.": "Se kesti viiden vuoden ajan.",
    "Hän tuli 3:lla junalla.": "Hän tuli kolmella junalla.",
    "Vuonna 1995. Seuraavana vuonna ei.": "Vuonna tuhatyhdeksänsataayhdeksänkymmentäviisi. Seuraavana vuonna ei.",
    "Se tapahtui 5. kesäkuuta.": "Se tapahtui viides kesäkuuta.",
    "Juna lähtee klo 12.30 asemalta.": "Juna lähtee kello kaksitoista kolmekymmentä asemalta.",
    "Esim. 2 kertaa.": "Esimerkiksi kaksi kertaa.",
    "Asukkaita on 2 500 000.": "Asukkaita on kaksi miljoonaa viisisataatuhatta.",
    "Ei numeroita,  vain   tekstiä.": "Ei numeroita, vain tekstiä.",
}
unsure = ["Päivä 1.5.2020 oli lauantai.", "Koodi 007 toimii.", "COVID-19 levisi.",
          "Kesällä 2019 Helsingissä.", "Se maksoi 1 euron.", "Hinta on 10-20 euroa.",
          "Matkaa oli 5 talosta.", "Pelaaja F1 voitti."]
bad = []
for k, v in good.items():
    got, why = n.try_normalize(k)
    if got != v:
        bad.append((k, got, why, v))
for k in unsure:
    got, why = n.try_normalize(k)
    if got is not None:
        bad.append((k, got, "should be refused", None))
for b in bad:
    print("%r: got %r (%s), want %r" % b)
sys.exit(1 if bad else 0)
EOF

# the command line: arguments, and stdin line by line; a refused line says why, exit 1
out=$("$PYTHON" "$N" "Vuonna 2000." "5 %")
assert_eq "$out" "Vuonna kaksituhatta.
viisi prosenttia"
out=$(printf '1\n2\n' | "$PYTHON" "$N")
assert_eq "$out" "yksi
kaksi"
set +e
out=$("$PYTHON" "$N" "Päivä 1.5.2020.")
rc=$?
set -e
assert_eq "$rc" 1 "exit status for a refused line"
assert_eq "$out" "# unsure: a date (its case depends on the sentence)"
