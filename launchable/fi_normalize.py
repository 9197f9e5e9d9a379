#!/usr/bin/env python3
"""Finnish text normalisation for TTS transcripts: numbers and abbreviations as spoken.

A speech model learns from what is said. Finnish inflects numbers like nouns: "5:ssä" is
"viidessä", "noin 20 prosentissa" is "noin kahdessakymmenessä prosentissa", "1.
maailmansodan" is "ensimmäisen maailmansodan". A transcript that says something other than
its audio is worse than no transcript, so this module either writes a number the way it is
read, or refuses the sentence (raises Unsure) and prepare_data.py drops the clip and counts
it.

The number words, in every grammatical case, come from num2words (lang="fi"; a maintained
library, pinned in fish-speech-requirements.txt). This module decides the case:

  * "N:ssä", "10 %:lla", "3:lle" - the ending after the colon names the case;
  * "N-luvulla", "10-vuotiaana", "3-kertainen" - a compound: the number in its compound
    form (nominative; "tuhatta" -> "tuhat", "sataa" -> "sata") glued to the word;
  * "N. sana" - an ordinal agreeing with the next word ("1. maailmansodan" -> genitive;
    "5. kesäkuuta" -> nominative, a date); "15 000. kävijä" -> "viidestoistatuhannes";
  * "N sana" - a cardinal agreeing with the next word when that word ends in a case ending
    ("20 prosentissa" -> inessive); nominative before a partitive ("20 prosenttia"), before
    punctuation or at the end; a year after "vuonna" stays nominative;
  * "klo 12.30" -> "kello kaksitoista kolmekymmentä"; "3,5" -> "kolme pilkku viisi";
    "-5" -> "miinus viisi"; units % € $ °C ° km kg cm mm m in the same case as the number;
  * common abbreviations (esim., mm., n., jne., ks., klo, milj., mrd.).

Refused (Unsure), because the reading depends on syntax this module does not parse: dates
("1.5.2020"), ranges ("10-20"), digits inside words ("COVID-19", "F1"), numbers with leading
zeros, an inflected word after a year-like number without "vuonna", an ordinal or a 1
before a word that may be nominative or genitive, and case endings it does not know.

Usage:
  fi_normalize.py "Vuonna 1995 oli 3,5 % enemmän."   -> one line per argument
  fi_normalize.py < in.txt > out.txt                 -> line by line; a refused line is
                                                        written as "# unsure: REASON"
Exit status 0; 1 when a refused line was seen (command line use).
"""

import re
import sys

try:
    from num2words import num2words as _n2w
except ImportError as e:  # pragma: no cover - the message is the point
    raise ImportError(
        "fi_normalize needs num2words (pip install num2words==0.5.14; train_finnish.sh "
        "installs it into fish-speech's environment)"
    ) from e


class Unsure(ValueError):
    """The text holds a number whose spoken form cannot be decided with confidence."""


VOWELS = "aeiouyäö"

# Case endings of the word after a number, longest first: (ending, num2words case).
CASE_ENDINGS = [
    ("ssa", "inessive"), ("ssä", "inessive"),
    ("lla", "adessive"), ("llä", "adessive"),
    ("lta", "ablative"), ("ltä", "ablative"),
    ("lle", "allative"),
    ("ksi", "translative"),
]
# Endings written after a colon ("5:ssä", "3:een", "10:n"), to case.
COLON_ENDINGS = {
    "ssa": "inessive", "ssä": "inessive", "sta": "elative", "stä": "elative",
    "lla": "adessive", "llä": "adessive", "lta": "ablative", "ltä": "ablative",
    "lle": "allative", "ksi": "translative", "na": "essive", "nä": "essive",
    "n": "genitive", "a": "partitive", "ä": "partitive", "ta": "partitive", "tä": "partitive",
    "een": "illative", "seen": "illative", "teen": "illative", "neen": "illative",
    "iin": "illative", "siin": "illative", "aan": "illative", "ään": "illative",
    "nteen": "illative", "nnen": "genitive", "ttä": "partitive", "tta": "partitive",
    "s": "nominative", "nneksi": "translative", "nnessa": "inessive", "nnessä": "inessive",
    "nnella": "adessive", "nnellä": "adessive", "ntena": "essive", "ntenä": "essive",
}
ORDINAL_COLON = {"s", "nnen", "nneksi", "nnessa", "nnessä", "nnella", "nnellä", "ntena",
                 "ntenä", "nteen"}

# Units: symbol -> {case: word}; "ptv" is the partitive after numbers other than one.
_UNIT_STEMS = {
    "%": ("prosentti", "prosentin", "prosenttia", "prosentissa", "prosentista", "prosenttiin",
          "prosentilla", "prosentilta", "prosentille", "prosenttina", "prosentiksi"),
    "€": ("euro", "euron", "euroa", "eurossa", "eurosta", "euroon", "eurolla", "eurolta",
          "eurolle", "eurona", "euroksi"),
    "$": ("dollari", "dollarin", "dollaria", "dollarissa", "dollarista", "dollariin",
          "dollarilla", "dollarilta", "dollarille", "dollarina", "dollariksi"),
    "°C": ("celsiusaste", "celsiusasteen", "celsiusastetta", "celsiusasteessa",
           "celsiusasteesta", "celsiusasteeseen", "celsiusasteella", "celsiusasteelta",
           "celsiusasteelle", "celsiusasteena", "celsiusasteeksi"),
    "°": ("aste", "asteen", "astetta", "asteessa", "asteesta", "asteeseen", "asteella",
          "asteelta", "asteelle", "asteena", "asteeksi"),
    "km": ("kilometri", "kilometrin", "kilometriä", "kilometrissä", "kilometristä",
           "kilometriin", "kilometrillä", "kilometriltä", "kilometrille", "kilometrinä",
           "kilometriksi"),
    "kg": ("kilogramma", "kilogramman", "kilogrammaa", "kilogrammassa", "kilogrammasta",
           "kilogrammaan", "kilogrammalla", "kilogrammalta", "kilogrammalle", "kilogrammana",
           "kilogrammaksi"),
    "cm": ("senttimetri", "senttimetrin", "senttimetriä", "senttimetrissä", "senttimetristä",
           "senttimetriin", "senttimetrillä", "senttimetriltä", "senttimetrille",
           "senttimetrinä", "senttimetriksi"),
    "mm": ("millimetri", "millimetrin", "millimetriä", "millimetrissä", "millimetristä",
           "millimetriin", "millimetrillä", "millimetriltä", "millimetrille", "millimetrinä",
           "millimetriksi"),
    "m": ("metri", "metrin", "metriä", "metrissä", "metristä", "metriin", "metrillä",
          "metriltä", "metrille", "metrinä", "metriksi"),
}
_CASE_ORDER = ("nominative", "genitive", "partitive", "inessive", "elative", "illative",
               "adessive", "ablative", "allative", "essive", "translative")
UNITS = {sym: dict(zip(_CASE_ORDER, forms)) for sym, forms in _UNIT_STEMS.items()}

ABBREVIATIONS = {
    "esim.": "esimerkiksi", "mm.": "muun muassa", "n.": "noin", "jne.": "ja niin edelleen",
    "ks.": "katso", "klo": "kello", "milj.": "miljoonaa", "mrd.": "miljardia",
    "ns.": "niin sanottu", "yms.": "ynnä muuta sellaista", "tms.": "tai muuta sellaista",
    "eli.": "eli", "ym.": "ynnä muut", "kts.": "katso",
}
MONTHS_PARTITIVE = ("tammikuuta", "helmikuuta", "maaliskuuta", "huhtikuuta", "toukokuuta",
                    "kesäkuuta", "heinäkuuta", "elokuuta", "syyskuuta", "lokakuuta",
                    "marraskuuta", "joulukuuta")
# Partitives in -sta/-stä that follow numbers often (the ending alone cannot tell them from
# elatives like "talosta"): a number before them is nominative.
PARTITIVES_STA = {"ihmistä", "miestä", "naista", "lasta", "suomalaista", "asukasta",
                  "hevosta", "kuukautta", "vuotta", "euroa", "prosenttia", "henkilöä",
                  "työntekijää", "opiskelijaa", "potilasta"}
YEAR_WORDS = ("vuonna", "vuosi", "vuodesta", "vuoteen", "vuoden", "vuosina", "vuodelta",
              "vuodelle", "vuodella", "vuotena", "v.")


def _one_word(n, words):
    # Written Finnish joins a number below a million into one word ("tuhatyhdeksänsataa");
    # above, the millions stand apart ("kaksi miljoonaa viisisataatuhatta"), as num2words has.
    if n < 10 ** 6:
        return words.replace(" ", "")
    return re.sub(r"(?<=\w)(miljoon|miljard|biljoon)", r" \1", words)


def cardinal(n, case="nominative"):
    """A whole number in words, in a grammatical case ("kahdessakymmenessä")."""
    return _one_word(n, _n2w(n, lang="fi", case=case))


def ordinal(n, case="nominative"):
    """An ordinal in words, in a grammatical case ("ensimmäisen")."""
    return _one_word(n, _n2w(n, lang="fi", ordinal=True, case=case))


def compound_form(n):
    """The number as the first part of a compound: "kaksituhatluvulla", "satavuotias"."""
    w = cardinal(n).replace(" ", "")
    for long, short in (("tuhatta", "tuhat"), ("sataa", "sata")):
        if w.endswith(long):
            w = w[: -len(long)] + short
    return w


def word_case(word):
    """The case the next word asks of a number before it: a num2words case, "nominative"
    when the word is partitive or uninflected, or None when it cannot be told."""
    w = word.lower()
    if not w or not w[-1].isalpha() or w in PARTITIVES_STA:
        return "nominative"
    for ending, case in CASE_ENDINGS:
        if w.endswith(ending) and len(w) > len(ending) + 1:
            return case
    if re.search(r"([%s])\1n$" % VOWELS, w) or re.search(r"h[%s]n$" % VOWELS, w) or \
            w.endswith(("seen", "siin")):
        return "illative"
    if w.endswith("nen"):
        return "nominative"
    if w.endswith("n") and len(w) > 2 and w[-2] in VOWELS:
        return "genitive"
    if w.endswith(("na", "nä")):
        return None  # essive or a nominative like "sana": cannot tell
    if w.endswith(("sta", "stä")) and len(w) > 4:
        return None  # elative ("talosta") or partitive ("ihmistä"): cannot tell
    return "nominative"  # partitive after a number, or a nominative


_SEP = "[ \u00a0\u202f]"
_NUM = r"\d{1,3}(?:" + _SEP + r"\d{3})+(?!\d)|\d+"
_UNIT_RE = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_WORD = r"[A-Za-zÅÄÖåäöÉéÜü]+"

_TOKEN = re.compile(
    r"(?P<neg>(?<![\w-])-)?"
    r"(?P<int>" + _NUM + r")"
    r"(?:,(?P<frac>\d+))?"
    r"(?P<ord>\.(?=\s+\S))?"
    r"(?:(?P<usp>" + _SEP + r"?)(?P<unit>" + _UNIT_RE + r")(?![A-Za-zÅÄÖåäö]))?"
    r"(?::(?P<colon>[a-zåäö]+))?"
    r"(?:-(?P<compound>[a-zåäö]+))?"
)
_TIME = re.compile(r"\b(?:klo|kello)\s+(\d{1,2})(?:[.:](\d{2}))?(?!\d)", re.IGNORECASE)
_DATE = re.compile(r"(?<![\d.])\d{1,2}\.\d{1,2}\.(?:\d{2,4})?(?![\d])")
_RANGE = re.compile(r"\d\s*[-–—]\s*\d")
_GLUED = re.compile(r"[A-Za-zÅÄÖåäö]-?\d|\d[A-Za-zÅÄÖåäö]")


def _next_word(text, pos):
    m = re.match(r"\s+(" + _WORD + r")", text[pos:])
    return m.group(1) if m else None


def _prev_word(text, pos):
    m = re.search(r"(\S+)\s+$", text[:pos])
    return m.group(1).lower() if m else None


def _number_sub(m, text):
    digits = re.sub(_SEP, "", m.group("int"))
    if len(digits) > 1 and digits[0] == "0":
        raise Unsure("leading zero in %r" % m.group(0))
    value = int(digits)
    if value > 10 ** 15:
        raise Unsure("number too long: %r" % m.group(0))
    frac, unit, colon, compound = m.group("frac"), m.group("unit"), m.group("colon"), \
        m.group("compound")
    nxt = _next_word(text, m.end())
    prev = _prev_word(text, m.start())
    neg = "miinus " if m.group("neg") else ""

    if compound:
        if frac or unit or colon or m.group("ord"):
            raise Unsure("compound after a unit or decimal: %r" % m.group(0))
        return neg + compound_form(value) + compound

    if m.group("ord"):
        if frac or unit or colon:
            raise Unsure("ordinal with a unit: %r" % m.group(0))
        if nxt is None:
            raise Unsure("ordinal before a non-word: %r" % m.group(0))
        if nxt[0].isupper():
            # "vuonna 1995. Seuraava..." - a sentence end, not an ordinal
            return neg + cardinal(value) + "."
        if nxt.lower() in MONTHS_PARTITIVE:
            return ordinal(value)
        case = word_case(nxt)
        if case is None:
            raise Unsure("ordinal before %r" % nxt)
        if case == "genitive" and nxt.lower().endswith("nen"):
            case = "nominative"
        return neg + ordinal(value, case)

    if colon:
        case = COLON_ENDINGS.get(colon)
        if case is None:
            raise Unsure("unknown ending :%s" % colon)
        if frac:
            raise Unsure("inflected decimal: %r" % m.group(0))
        if colon in ORDINAL_COLON:
            return neg + ordinal(value, case) + ((" " + UNITS[unit][case]) if unit else "")
        words = neg + cardinal(value, case)
        if unit:
            words += " " + UNITS[unit][case]
        return words

    # a plain cardinal (maybe a decimal, maybe with a unit): its case comes from the next word
    case = "nominative"
    if nxt is not None and not unit:
        case = word_case(nxt)
        if case is None:
            raise Unsure("number before %r" % nxt)
        year_like = 1000 <= value <= 2100 and not frac
        if case != "nominative":
            if prev in YEAR_WORDS and year_like:
                case = "nominative"
            elif year_like:
                raise Unsure("year-like %s before %r" % (digits, nxt))
            elif frac:
                raise Unsure("inflected decimal before %r" % nxt)
            elif value == 1 and case == "genitive":
                raise Unsure("1 before %r (nominative or genitive)" % nxt)
    words = neg + cardinal(value, case)
    if frac:
        if len(frac) <= 2 and frac[0] != "0":
            words += " pilkku " + cardinal(int(frac))
        else:
            words += " pilkku " + " ".join(cardinal(int(c)) for c in frac)
    if unit:
        one = value == 1 and not frac
        words += " " + (UNITS[unit]["nominative"] if one else UNITS[unit]["partitive"])
    return words


def _time_sub(m):
    hours, minutes = int(m.group(1)), int(m.group(2) or 0)
    if hours > 24 or minutes > 59:
        raise Unsure("not a time: %r" % m.group(0))
    return "kello " + cardinal(hours) + ((" " + cardinal(minutes)) if minutes else "")


def _abbrev(text):
    out = []
    for tok in text.split(" "):
        low = tok.lower()
        if low in ABBREVIATIONS:
            rep = ABBREVIATIONS[low]
            out.append(rep[0].upper() + rep[1:] if tok[:1].isupper() else rep)
        else:
            out.append(tok)
    return " ".join(out)


def normalize(text):
    """Rewrite the numbers and abbreviations of a Finnish text as spoken words; collapse
    white space. Raises Unsure when a number's reading cannot be decided."""
    text = " ".join(text.split())
    text = _TIME.sub(_time_sub, text)
    if _DATE.search(text):
        raise Unsure("a date (its case depends on the sentence)")
    if _RANGE.search(text):
        raise Unsure("a range (read as 'from ... to ...')")
    if _GLUED.search(text):
        raise Unsure("digits inside a word")
    text = _abbrev(text)
    text = _TOKEN.sub(lambda m: _number_sub(m, text), text)
    if any(c.isdigit() for c in text):
        raise Unsure("digits left after normalising")
    return " ".join(text.split())


def try_normalize(text):
    """(normalised text, None), or (None, reason) when the text is refused."""
    try:
        return normalize(text), None
    except Unsure as e:
        return None, str(e)


def main(argv):
    if len(argv) > 1 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    lines = argv[1:] if len(argv) > 1 else (line.rstrip("\n") for line in sys.stdin)
    unsure = 0
    for line in lines:
        out, why = try_normalize(line)
        if out is None:
            unsure += 1
            print("# unsure: " + why)
        else:
            print(out)
    return 1 if unsure else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
