#!/usr/bin/env python3
"""Finnish text normalisation for TTS transcripts: numbers written as words.

Speech models learn from what is said, and a transcript that says "1995" where the
speaker said "tuhatyhdeksänsataayhdeksänkymmentäviisi" teaches the wrong thing. This
module rewrites the digits of Finnish text into words, the way a reader would say
them (Python standard library only):

  * cardinals: 0 .. 10^15 - 1 ("kaksituhattakaksikymmentäneljä", "kolme miljoonaa
    viisisataatuhatta"); numbers below a million are one word, as written Finnish
    does; thousands separated by a space or no-break space ("10 000") are one number;
  * decimals with a comma: "3,5" -> "kolme pilkku viisi";
  * negative numbers: "-5" -> "miinus viisi";
  * ordinals: a number with a full stop followed by a lower-case word
    ("5. kesäkuuta") -> "viides kesäkuuta"; dates "1.5.2020" -> "ensimmäinen
    viidettä kaksituhattakaksikymmentä";
  * times after "klo": "klo 12.30" -> "klo kaksitoista kolmekymmentä";
  * units after a number: %, €, $, °C, km, kg, cm, mm (singular after one, partitive
    after other numbers: "yksi prosentti", "kaksi prosenttia");
  * case endings after a colon ("3:lla") are glued to the nominative word
    ("kolmella"); this is right for some numbers only (Finnish inflects the number
    itself: "kahdessa", not "kaksissa") - a known limitation;
  * numbers with leading zeros ("007") and numbers of 16 digits or more are read
    digit by digit.

Usage:
  fi_normalize.py "Vuonna 1995 oli 3,5 % enemmän."   -> one line per argument
  fi_normalize.py < in.txt > out.txt                 -> line by line
"""

import re
import sys

ONES = ["nolla", "yksi", "kaksi", "kolme", "neljä", "viisi", "kuusi", "seitsemän",
        "kahdeksan", "yhdeksän"]
# Ordinal stems used inside compounds (kahdes-kymmenes, kolmas-sadas, ...).
ORD_STEM = ["", "yhdes", "kahdes", "kolmas", "neljäs", "viides", "kuudes", "seitsemäs",
            "kahdeksas", "yhdeksäs"]
ORD_ONES = ["nollas", "ensimmäinen", "toinen", "kolmas", "neljäs", "viides", "kuudes",
            "seitsemäs", "kahdeksas", "yhdeksäs"]
# Partitive ordinals for months in dates ("viidettä").
ORD_PARTITIVE = ["", "ensimmäistä", "toista", "kolmatta", "neljättä", "viidettä",
                 "kuudetta", "seitsemättä", "kahdeksatta", "yhdeksättä", "kymmenettä",
                 "yhdettätoista", "kahdettatoista"]

BIG = [  # (value, singular, partitive)
    (10 ** 12, "biljoona", "biljoonaa"),
    (10 ** 9, "miljardi", "miljardia"),
    (10 ** 6, "miljoona", "miljoonaa"),
]

UNITS = {  # symbol: (after one, after other numbers)
    "%": ("prosentti", "prosenttia"),
    "€": ("euro", "euroa"),
    "$": ("dollari", "dollaria"),
    "°C": ("celsiusaste", "celsiusastetta"),
    "°": ("aste", "astetta"),
    "km": ("kilometri", "kilometriä"),
    "kg": ("kilogramma", "kilogrammaa"),
    "cm": ("senttimetri", "senttimetriä"),
    "mm": ("millimetri", "millimetriä"),
}

MAX_CARDINAL = 10 ** 15 - 1


def _below_thousand(n):
    """1..999 as one word."""
    parts = []
    hundreds, rest = divmod(n, 100)
    if hundreds == 1:
        parts.append("sata")
    elif hundreds > 1:
        parts.append(ONES[hundreds] + "sataa")
    if rest:
        if rest < 10:
            parts.append(ONES[rest])
        elif rest == 10:
            parts.append("kymmenen")
        elif rest < 20:
            parts.append(ONES[rest - 10] + "toista")
        else:
            tens, ones = divmod(rest, 10)
            parts.append(ONES[tens] + "kymmentä" + (ONES[ones] if ones else ""))
    return "".join(parts)


def _below_million(n):
    """1..999999 as one word."""
    thousands, rest = divmod(n, 1000)
    word = ""
    if thousands == 1:
        word = "tuhat"
    elif thousands > 1:
        word = _below_thousand(thousands) + "tuhatta"
    if rest:
        word += _below_thousand(rest)
    return word


def cardinal(n):
    """A whole number 0 .. 10^15-1 in words ("kolme miljoonaa viisisataatuhatta")."""
    if n < 0:
        return "miinus " + cardinal(-n)
    if n == 0:
        return ONES[0]
    if n > MAX_CARDINAL:
        raise ValueError("number too large")
    words = []
    for value, one, many in BIG:
        count, n = divmod(n, value)
        if count == 1:
            words.append(one)
        elif count > 1:
            words.append(cardinal(count) + " " + many)
    if n:
        words.append(_below_million(n))
    return " ".join(words)


def _ordinal_below_hundred(n):
    if n < 10:
        return ORD_ONES[n]
    if n == 10:
        return "kymmenes"
    if n < 20:
        return ORD_STEM[n - 10] + "toista"
    tens, ones = divmod(n, 10)
    word = ORD_STEM[tens] + "kymmenes"
    if ones:
        word += ORD_ONES[ones]
    return word


def ordinal(n):
    """1 .. 999999 as an ordinal ("kahdeskymmenesensimmäinen"); larger: cardinal."""
    if n <= 0 or n >= 10 ** 6:
        return cardinal(n)
    words = ""
    thousands, rest = divmod(n, 1000)
    if thousands == 1:
        words += "tuhannes"
    elif thousands > 1:
        # only the last part is made ordinal in very large numbers: good enough
        words += (ORD_STEM[thousands] if thousands < 10 else _below_thousand(thousands)) \
            + "tuhannes"
    hundreds, rest2 = divmod(rest, 100)
    if hundreds == 1:
        words += "sadas"
    elif hundreds > 1:
        words += ORD_STEM[hundreds] + "sadas"
    if rest2:
        words += _ordinal_below_hundred(rest2)
    return words


def _read_digits(s):
    return " ".join(ONES[int(c)] for c in s)


def number_words(digits):
    """Digits of one number (no separators) in words: leading zeros and very long
    numbers are read digit by digit."""
    if len(digits) > 1 and digits[0] == "0":
        return _read_digits(digits)
    if len(digits) > 15:
        return _read_digits(digits)
    return cardinal(int(digits))


def _unit_word(value_is_one, unit):
    one, many = UNITS[unit]
    return one if value_is_one else many


_SEP = "[ \u00a0\u202f]"
_NUM = r"(?<!\d)\d{1,3}(?:" + _SEP + r"\d{3})+(?!\d)|\d+"
_UNIT_RE = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))

_DATE = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{4})?(?![\d])")
_TIME = re.compile(r"\b(klo|kello)\s+(\d{1,2})[.:](\d{2})(?!\d)", re.IGNORECASE)
_ORDINAL = re.compile(r"(?<![\d.,])(\d{1,6})\.(?=\s+[a-zåäö])")
_NUMBER = re.compile(
    r"(?P<neg>(?<![\w-])-)?"
    r"(?P<int>" + _NUM + r")"
    r"(?:,(?P<frac>\d+))?"
    r"(?::(?P<suffix>[a-zåäö]+))?"
    r"(?:(?P<space>" + _SEP + r"?)(?P<unit>" + _UNIT_RE + r")(?![A-Za-zÅÄÖåäö]))?"
)


def _date_sub(m):
    day, month, year = int(m.group(1)), int(m.group(2)), m.group(3)
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return m.group(0)
    words = ordinal(day) + " " + ORD_PARTITIVE[month]
    if year:
        words += " " + cardinal(int(year))
    return words


def _time_sub(m):
    hours, minutes = int(m.group(2)), int(m.group(3))
    if hours > 24 or minutes > 59:
        return m.group(0)
    words = m.group(1) + " " + cardinal(hours)
    if minutes:
        words += " " + cardinal(minutes)
    return words


def _number_sub(m):
    digits = re.sub(_SEP, "", m.group("int"))
    words = number_words(digits)
    value_is_one = digits == "1" and not m.group("frac")
    if m.group("frac"):
        words += " pilkku " + number_words(m.group("frac"))
    if m.group("neg"):
        words = "miinus " + words
    if m.group("suffix"):
        words += m.group("suffix")
    if m.group("unit"):
        words += " " + _unit_word(value_is_one, m.group("unit"))
    return words


def normalize(text):
    """Rewrite every number of a Finnish text into words; collapse white space."""
    text = _TIME.sub(_time_sub, text)
    text = _DATE.sub(_date_sub, text)
    text = _ORDINAL.sub(lambda m: ordinal(int(m.group(1))), text)
    text = _NUMBER.sub(_number_sub, text)
    return " ".join(text.split())


def main(argv):
    if len(argv) > 1 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(argv) > 1:
        for arg in argv[1:]:
            print(normalize(arg))
        return 0
    for line in sys.stdin:
        print(normalize(line.rstrip("\n")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
