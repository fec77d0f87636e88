"""The words of the /room time language, and the patterns of its atoms: one table per family.

Why a module of its own: every reader (`read_dates`, `read_clock`, `read_lengths`, `read_spans`)
looks words up here, and `parser` asks `is_window_word` to tell a time word from a misspelt role;
a new phrase family adds its words here and its reader next to the others.
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
WEEKDAYS = {
    name: number
    for number, names in enumerate(
        (
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "weds", "wednesday"),
            ("thu", "thur", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        )
    )
    for name in names
}
RELATIVE_DAYS = {
    "today": 0,
    "tonight": 0,
    "tomorrow": 1,
    "tmrw": 1,
    "tmr": 1,
    "tmw": 1,
    "2moro": 1,
    "2morrow": 1,
    "yesterday": -1,
}
# day parts: (first hour, hour it ends), on the day they follow or today; "tonight" is this evening
DAY_PARTS = {
    "morning": (6, 12),
    "afternoon": (12, 18),
    "evening": (18, 24),
    "tonight": (18, 24),
    "night": (20, 24),
}
# "6 in the morning", "10 at night": a clock time's am/pm from the part of the day it names
PART_SUFFIXES = {
    ("in", "the", "morning"): "am",
    ("in", "the", "afternoon"): "pm",
    ("in", "the", "evening"): "pm",
    ("at", "night"): "pm",
    ("tonight",): "pm",
}
HALF_DAYS = {"am": (6, 12), "pm": (12, 18)}
LUNCH = frozenset({"lunch", "lunchtime", "noon-ish", "noonish"})
FILLER = frozenset(
    {"around", "about", "approximately", "approx", "roughly", "~", "sharp"}
    | {"sometime", "anytime", "during", "over"}  # "sometime tomorrow", "over the weekend"
)
BUSINESS_PM = range(1, 7)  # a bare 1 to 6 is afternoon: "tomorrow 3 to 4" is 15:00-16:00
OVERNIGHT = timedelta(hours=12)  # "11pm-1am" ends the next day when that is at most this long
SMALL_NUMBERS = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
    *("eighteen", "nineteen"),
)
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90}
NUMBER_WORDS: dict[str, int] = (
    {word: value for value, word in enumerate(SMALL_NUMBERS)}
    | TENS
    | {
        f"{tens}-{unit}": value + index
        for tens, value in TENS.items()
        if value <= 50
        for index, unit in enumerate(SMALL_NUMBERS[1:10], start=1)
    }
    | {"a": 1, "an": 1, "couple": 2}
)
# unit word -> (what it counts, how many): "s" elapsed seconds, "d" calendar days, "m" months
UNITS: dict[str, tuple[str, int]] = (
    dict.fromkeys(("m", "min", "mins", "minute", "minutes", "minute's"), ("s", 60))
    | dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "hour's"), ("s", 3600))
    | dict.fromkeys(("d", "day", "days", "day's"), ("d", 1))
    | dict.fromkeys(("w", "wk", "wks", "week", "weeks", "week's"), ("d", 7))
    | dict.fromkeys(("fortnight", "fortnights"), ("d", 14))
    | dict.fromkeys(("mo", "mos", "mth", "mths", "month", "months"), ("m", 1))
)
END_WORDS = frozenset({"to", "until", "till", "til", "through", "thru", "-"})
START_WORDS = frozenset({"from", "starting", "beginning", "start", "after"})
TODAY_IS_OVER: frozenset[tuple[str, ...]] = frozenset(
    {
        ("eod",),
        ("later", "today"),
        ("later",),
        ("end", "of", "day"),
        ("end", "of", "the", "day"),
        ("rest", "of", "the", "day"),
        ("rest", "of", "today"),
    }
)
PERIOD_ENDS = {"eow": "week", "eom": "month"}
WHOLE_PERIODS = (
    (("the", "whole", "day"), "day"),
    (("the", "rest", "of", "the", "day"), "day"),
    (("the", "day"), "day"),
    (("the", "whole", "week"), "week"),
    (("the", "rest", "of", "the", "week"), "week"),
    (("the", "week"), "week"),
)
ALL_DAY = (("all", "day"), ("the", "whole", "day"), ("whole", "day"))
FRACTIONS = {"1/2": 0.5, "1/4": 0.25, "3/4": 0.75}
LAST = 99
NTH = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "last": LAST,
}
AT = frozenset({"at", "@"})
NOW = frozenset({"now", "asap", "immediately", "straightaway"})
NOW_PHRASES = (("right", "now"), ("right", "away"), ("straight", "away"), ("any", "time", "now"))
PERIODS = frozenset({"week", "weekend", "month"})
STOP = END_WORDS | START_WORDS | AT | {"and", "for", "between", "in", "on"}
CLOCK_WORDS = frozenset({"noon", "midday", "midnight", "eod"})
DANGLING = STOP | {"next", "this", "coming", "the", "of", "half", "a", "an", "end", "right"}
# Fixed-date holidays: (month, day), each under the ways people write it (apostrophes are
# optional; "st." reaches us as "st"). The same date every year, so reading one never guesses;
# holidays whose date moves (MOVING_HOLIDAYS) are refused with their own answer.
_HOLIDAY_NAMES: dict[tuple[int, int], tuple[str, ...]] = {
    (1, 1): ("new year's day", "new years day", "new year day", "new year's", "new years"),
    (1, 26): ("australia day",),
    (2, 2): ("groundhog day",),
    (2, 6): ("waitangi day",),
    (2, 14): ("valentine's day", "valentines day", "valentine day", "valentine's", "valentines"),
    (3, 1): ("st david's day", "saint david's day"),
    (3, 8): ("international women's day", "women's day", "womens day"),
    (3, 17): (
        "st patrick's day",
        "st patricks day",
        "saint patrick's day",
        "saint patricks day",
        "st paddy's day",
        "paddy's day",
    ),
    (4, 1): ("april fools day", "april fool's day", "april fools"),
    (4, 22): ("earth day",),
    (4, 23): ("st george's day", "saint george's day"),
    (4, 25): ("anzac day",),
    (5, 5): ("cinco de mayo",),
    (6, 19): ("juneteenth",),
    (7, 1): ("canada day",),
    (7, 4): ("independence day", "fourth of july", "the fourth of july", "the 4th of july"),
    (7, 14): ("bastille day",),
    (10, 31): ("halloween", "hallowe'en", "all hallows eve"),
    (11, 1): ("all saints day", "all saint's day"),
    (11, 5): ("guy fawkes night", "guy fawkes day", "bonfire night"),
    (11, 11): ("veterans day", "veteran's day", "remembrance day", "armistice day"),
    (11, 30): ("st andrew's day", "saint andrew's day"),
    (12, 24): ("christmas eve", "xmas eve"),
    (12, 25): ("christmas day", "christmas", "xmas day", "xmas"),
    (12, 26): ("boxing day", "st stephen's day"),
    (12, 31): ("new year's eve", "new years eve", "new year eve", "nye"),
}
HOLIDAYS: dict[str, tuple[tuple[tuple[str, ...], tuple[int, int]], ...]] = {}
"""Holiday phrases by first word, longest first: ((words…), (month, day))."""
for _date, _names in _HOLIDAY_NAMES.items():
    for _name in _names:
        _words = tuple(_name.split())
        HOLIDAYS[_words[0]] = (*HOLIDAYS.get(_words[0], ()), (_words, _date))
HOLIDAYS = {
    first: tuple(sorted(phrases, key=lambda phrase: -len(phrase[0])))
    for first, phrases in HOLIDAYS.items()
}
MOVING_HOLIDAYS = {
    tuple(name.split()): name
    for name in (
        "thanksgiving", "thanksgiving day", "easter", "easter sunday", "easter monday",
        "good friday", "mother's day", "mothers day", "father's day", "fathers day",
        "labor day", "labour day", "memorial day", "mlk day", "presidents day",
        "columbus day", "indigenous peoples day", "victoria day",
        "black friday", "cyber monday", "mardi gras", "shrove tuesday", "ash wednesday",
        "pentecost", "whit monday", "ascension day", "diwali", "hanukkah", "chanukah",
        "passover", "rosh hashanah", "yom kippur", "ramadan", "eid", "holi",
        "lunar new year", "chinese new year", "bank holiday", "golden week",
    )
}  # fmt: skip
"""Holidays whose date moves from year to year (or country to country): refused, never guessed."""
MOVING_FIRST_WORDS = frozenset(words[0] for words in MOVING_HOLIDAYS)
# parts of a week or a month: "early next week" Mon-Tue, "mid-week" Tue-Thu, "late next month" the
# 21st to its end; as (first, last) day offsets into the week, or days of the month
WEEK_PARTS = {"early": (0, 1), "mid": (1, 3), "late": (3, 4)}
MONTH_PARTS = {"early": (1, 10), "mid": (11, 20), "late": (21, 31)}
PART_WORDS = frozenset({"early", "mid", "late", "middle", "midweek", "mid-week", "midmonth"})
ALTERNATIVE = "or"

ORDINAL_WORDS = {
    word: number
    for number, word in enumerate(
        (
            *("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"),
            *("ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth"),
            *("sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth"),
        ),
        start=1,
    )
} | {"thirtieth": 30}
"""Ordinal words for days of a month: ``the fourteenth``."""

VOCABULARY = frozenset(
    MONTHS.keys()
    | WEEKDAYS.keys()
    | RELATIVE_DAYS.keys()
    | NUMBER_WORDS.keys()
    | UNITS.keys()
    | STOP
    | NOW
    | PERIODS
    | CLOCK_WORDS
    | {"next", "this", "coming", "the", "of", "day", "after", "half", "am", "pm", "o'clock"}
    | {"right", "end", "from", "later", "all", "whole"}
    | DAY_PARTS.keys()
    | {"quarter", "past", "within", "upcoming", "eow", "eom", "plus", "+", "rest"}
    | NTH.keys()
    | LUNCH
    | FILLER
    | {"beginning", "start"}
    | HOLIDAYS.keys()
    | MOVING_FIRST_WORDS
    | PART_WORDS
    | ORDINAL_WORDS.keys()
    | {"before", "by", "eve", "straight", "away", "minutes", "past", "cob", "business"}
    | {"following", "working", "same", "time", "thing", "year", "quarters", "ish", "rest"}
)

CLOCK = re.compile(r"([0-9]{1,2})(?:[:.]([0-9]{2})(?::([0-9]{2}))?)?(am|pm|a|p)?")
FRENCH_CLOCK = re.compile(r"([0-9]{1,2})h([0-9]{2})?")  # 15h, 15h30
NUMBER = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,3})?")
COMPACT = re.compile(
    r"([0-9]{1,12}(?:\.[0-9]{1,3})?)(m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?|mo|mos|months?)"
)
HOURS_MINUTES = re.compile(r"([0-9]{1,3})h([0-9]{1,2})(?:m|mins?)?")
ORDINAL = re.compile(r"([0-9]{1,2})(st|nd|rd|th)")
ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
YEAR_FIRST = re.compile(r"([0-9]{4})[/.]([0-9]{1,2})[/.]([0-9]{1,2})")
NUMERIC = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})(?:\2([0-9]{4}|[0-9]{2}))?")
GLUED_MONTH_DAY = re.compile(r"([a-z]{3,9})-([0-9]{1,2})(?:-([0-9]{4}))?")
GLUED_DAY_MONTH = re.compile(r"([0-9]{1,2})-([a-z]{3,9})-([0-9]{2,4})")
YEAR = re.compile(r"(19|20|21)[0-9][0-9]")
MONTH_FIRST_REGIONS = frozenset({"US", "PH", "FM", "MH", "PW", "GU", "AS", "MP", "PR", "UM", "VI"})
MONTH_FIRST_LANGUAGES = frozenset({"ja", "zh", "ko", "hu", "lt", "mn"})
DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
HUGE_DAYS = 36_600  # a hundred years: far past any limit, and safe for datetime arithmetic
NOON = 12
LAST_HOUR = 23
END_OF_DAY = 24
PAST_YEARS = 100

EXAMPLES = "`/room create tomorrow 9am-5pm` or `/room create next monday for 2 hours`"


def is_window_word(word: str) -> bool:
    """Whether *word* can be part of a time window (so it is not, say, a misspelt role)."""
    return word in VOCABULARY or any(char.isdigit() for char in word)


@functools.lru_cache(maxsize=64)  # a few locales, asked on every command
def month_first(locale: str) -> bool:
    """Whether numeric dates put the month first (``1/2`` = January 2) in *locale* (``en-US``)."""
    language, _, region = locale.replace("_", "-").partition("-")
    region = region.split("-")[-1].upper()
    if region:
        return region in MONTH_FIRST_REGIONS or language.lower() in MONTH_FIRST_LANGUAGES
    return language.lower() in {"en", *MONTH_FIRST_LANGUAGES}
