"""Table-driven tests of the pure IIN rules (no database)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from birtutas.registry.rules import (
    CENTURY_SEX,
    IINError,
    IINFacts,
    check_iin_matches,
    iin_check_digit,
    make_iin,
    mask_iin,
    parse_iin,
)

# ---------------------------------------------------------------- check digits worked out by hand

# 900515301234: born 1990-05-15, digit 7 = 3 (1900s, male), serial 0123.
#   digits   9  0  0  5  1  5  3  0  1  2  3
#   weights  1  2  3  4  5  6  7  8  9 10 11
#   products 9  0  0 20  5 30 21  0  9 20 33  -> sum 147; 147 mod 11 = 147 - 143 = 4
#   first sequence gives 4 (not 10), so the check digit is 4.
#
# 050312600511: born 2005-03-12, digit 7 = 6 (2000s, female), serial 0051.
#   digits   0  5  0  3  1  2  6  0  0  5  1
#   weights  1  2  3  4  5  6  7  8  9 10 11
#   products 0 10  0 12  5 12 42  0  0 50 11  -> sum 142; 142 mod 11 = 142 - 132 = 10 -> second sequence
#   weights  3  4  5  6  7  8  9 10 11  1  2
#   products 0 20  0 18  7 16 54  0  0  5  2  -> sum 122; 122 mod 11 = 122 - 121 = 1
#   so the check digit is 1.
#
# 05031260050 (same person, serial 0050): both sequences give 10, so no 12th digit is valid.
#   first:  the sum above minus 1*11 (last digit 1 -> 0) = 142 - 11 = 131; 131 mod 11 = 131 - 121 = 10
#   second: the sum above minus 1*2                      = 122 - 2  = 120; 120 mod 11 = 120 - 110 = 10
BOTH_TEN_PREFIX = "05031260050"


@pytest.mark.parametrize(
    ("first_eleven", "expected"),
    [
        ("90051530123", 4),  # hand-worked above, first sequence
        ("05031260051", 1),  # hand-worked above, second sequence
        (BOTH_TEN_PREFIX, None),  # hand-worked above, both sequences give 10
        ("00000000000", 0),
        ("90010140040", 4),  # second sequence
        ("85072240092", 0),  # second sequence, check digit 0
        ("18123150080", 2),  # second sequence
        ("90010140043", None),  # both give 10
        ("85072240097", None),  # both give 10
        ("55060610064", None),  # both give 10
    ],
)
def test_iin_check_digit(first_eleven, expected):
    assert iin_check_digit(first_eleven) == expected


# ---------------------------------------------------------------- valid numbers

VALID = [
    # iin, birth date, sex
    ("900515301234", dt.date(1990, 5, 15), "M"),  # hand-worked, digit 3
    ("050312600511", dt.date(2005, 3, 12), "F"),  # hand-worked, second sequence, digit 6
    ("500704100178", dt.date(1850, 7, 4), "M"),  # digit 1: 1800s male
    ("991231242429", dt.date(1899, 12, 31), "F"),  # digit 2: 1800s female
    ("000101150002", dt.date(1800, 1, 1), "M"),  # first day of the 1800s
    ("000228499997", dt.date(1900, 2, 28), "F"),  # digit 4: 1900s female
    ("990101431416", dt.date(1999, 1, 1), "F"),
    ("000229500018", dt.date(2000, 2, 29), "M"),  # digit 5: 2000 is a leap year
    ("991231600002", dt.date(2099, 12, 31), "F"),  # last day of the 2000s
    ("900101400404", dt.date(1990, 1, 1), "F"),  # second sequence
    ("850722400920", dt.date(1985, 7, 22), "F"),  # second sequence, check digit 0
    ("181231500802", dt.date(2018, 12, 31), "M"),  # second sequence
    ("550606100602", dt.date(1855, 6, 6), "M"),  # second sequence, 1800s
    # One digit away from 900515301234 and still valid: the first sequence gives 147 + 6 = 153 -> 10,
    # the second gives 158 mod 11 = 4, the same check digit. Single-digit typos are not always caught.
    ("900516301234", dt.date(1990, 5, 16), "M"),
]


@pytest.mark.parametrize(("iin", "birth_date", "sex"), VALID)
def test_parse_valid(iin, birth_date, sex):
    assert parse_iin(iin) == IINFacts(birth_date=birth_date, sex=sex)


@pytest.mark.parametrize(
    ("digit", "century", "sex"),
    [(1, 1800, "M"), (2, 1800, "F"), (3, 1900, "M"), (4, 1900, "F"), (5, 2000, "M"), (6, 2000, "F")],
)
def test_every_century_and_sex_digit(digit, century, sex):
    assert CENTURY_SEX[digit] == (century, sex)
    first = f"770412{digit}0042"
    check = iin_check_digit(first)
    assert check is not None
    facts = parse_iin(f"{first}{check}")
    assert facts.birth_date == dt.date(century + 77, 4, 12)
    assert facts.sex == sex


# ---------------------------------------------------------------- every error code


def _code(iin) -> str:
    with pytest.raises(IINError) as exc:
        parse_iin(iin)
    assert exc.value.code
    assert str(exc.value)  # a message is always there
    return exc.value.code


@pytest.mark.parametrize(
    "iin",
    [
        "",
        "90051530123a",
        "9005153012 4",
        " 900515301234",
        "900515301234 ",
        "-90051530123",
        "9005-1530123",
        "９００５１５３０１２３４",  # full-width digits are not ASCII
        "90051530123٤",  # an Arabic-Indic 4
        "abcdefghijkl",
        None,
        900515301234,
    ],
)
def test_error_digits(iin):
    assert _code(iin) == "digits"


@pytest.mark.parametrize("iin", ["1", "90051530123", "9005153012345", "0" * 24])
def test_error_length(iin):
    assert _code(iin) == "length"


@pytest.mark.parametrize("digit", ["0", "7", "8", "9"])
def test_error_century(digit):
    assert _code(f"900515{digit}01234") == "century"


@pytest.mark.parametrize(
    "iin",
    [
        "900230301234",  # 30 February 1990
        "000230500000",  # 30 February 2000
        "000229300000",  # 29 February 1900: 1900 is not a leap year
        "000229100000",  # 29 February 1800: not a leap year either
        "010229500000",  # 29 February 2001
        "900431300000",  # 31 April
        "901301300000",  # month 13
        "900001300000",  # month 00
        "900100300000",  # day 00
        "900132300000",  # day 32
    ],
)
def test_error_date(iin):
    assert _code(iin) == "date"


def test_leap_day_of_a_leap_year_is_a_date():
    # The same YYMMDD 000229 is a date for 2000 (digit 5/6), not for 1900 (digit 3/4).
    first = "00022960000"
    iin = f"{first}{iin_check_digit(first)}"
    assert parse_iin(iin).birth_date == dt.date(2000, 2, 29)


@pytest.mark.parametrize(("iin", "_birth_date", "_sex"), VALID)
def test_error_checksum_every_wrong_last_digit(iin, _birth_date, _sex):
    for wrong in "0123456789":
        if wrong == iin[-1]:
            continue
        assert _code(iin[:11] + wrong) == "checksum"


@pytest.mark.parametrize(
    "iin",
    [
        "900515301243",  # two digits swapped (a typical typo)
        "900515301334",  # one serial digit changed
        "900517301234",  # one date digit changed
    ],
)
def test_error_checksum_typo(iin):
    assert _code(iin) == "checksum"


@pytest.mark.parametrize("last", list("0123456789"))
def test_error_checksum_when_both_sequences_give_ten(last):
    assert _code(BOTH_TEN_PREFIX + last) == "checksum"


@pytest.mark.parametrize(
    ("iin", "expected"),
    [
        ("90051530123x", "digits"),  # digits checked before length
        ("9005153012a", "digits"),
        ("9005159012", "length"),  # length before century
        ("900230901234", "century"),  # century before date (30 Feb with digit 9)
        ("900230301239", "date"),  # date before checksum
    ],
)
def test_error_precedence(iin, expected):
    assert _code(iin) == expected


# ---------------------------------------------------------------- the record must agree


@pytest.mark.parametrize(
    ("birth_date", "sex"),
    [
        (dt.date(1990, 5, 15), "M"),
        (None, "M"),
        (dt.date(1990, 5, 15), None),
        (None, None),
    ],
)
def test_check_iin_matches_ok(birth_date, sex):
    assert check_iin_matches("900515301234", birth_date, sex) == IINFacts(dt.date(1990, 5, 15), "M")


@pytest.mark.parametrize(
    ("iin", "birth_date", "sex", "code"),
    [
        ("900515301234", dt.date(1990, 5, 16), "M", "date_mismatch"),
        ("900515301234", dt.date(1890, 5, 15), "M", "date_mismatch"),  # same YYMMDD, other century
        ("900515301234", dt.date(2090, 5, 15), None, "date_mismatch"),
        ("900515301234", dt.date(1990, 5, 15), "F", "sex_mismatch"),
        ("050312600511", dt.date(2005, 3, 12), "M", "sex_mismatch"),
        ("050312600511", None, "M", "sex_mismatch"),
        ("900515301234", dt.date(1991, 1, 1), "F", "date_mismatch"),  # date is reported first
        ("900515301235", dt.date(1990, 5, 15), "M", "checksum"),  # a bad number never matches
        ("900515701234", dt.date(1990, 5, 15), "M", "century"),
    ],
)
def test_check_iin_matches_errors(iin, birth_date, sex, code):
    with pytest.raises(IINError) as exc:
        check_iin_matches(iin, birth_date, sex)
    assert exc.value.code == code


def test_date_mismatch_message_names_both_dates():
    with pytest.raises(IINError) as exc:
        check_iin_matches("900515301234", dt.date(1990, 5, 16), None)
    assert "1990-05-15" in str(exc.value)
    assert "1990-05-16" in str(exc.value)


# ---------------------------------------------------------------- make_iin


@pytest.mark.parametrize(
    ("birth_date", "sex", "serial", "expected"),
    [
        (dt.date(1990, 5, 15), "M", 123, "900515301234"),
        (dt.date(2005, 3, 12), "F", 51, "050312600511"),
        (dt.date(1850, 7, 4), "M", 17, "500704100178"),
        (dt.date(1899, 12, 31), "F", 4242, "991231242429"),
        (dt.date(1900, 2, 28), "F", 9999, "000228499997"),
        (dt.date(2000, 2, 29), "M", 1, "000229500018"),
        (dt.date(2099, 12, 31), "F", 0, "991231600002"),
        (dt.date(2005, 3, 12), "F", 50, None),  # both weight sequences give 10
        (dt.date(1990, 1, 1), "F", 43, None),
    ],
)
def test_make_iin(birth_date, sex, serial, expected):
    assert make_iin(birth_date, sex, serial) == expected


@pytest.mark.parametrize(
    ("birth_date", "sex", "serial"),
    [
        (dt.date(1799, 12, 31), "M", 1),  # no century digit before 1800
        (dt.date(2100, 1, 1), "F", 1),  # nor from 2100
        (dt.date(1990, 5, 15), "X", 1),
        (dt.date(1990, 5, 15), "m", 1),
        (dt.date(1990, 5, 15), "M", -1),
        (dt.date(1990, 5, 15), "M", 10000),
    ],
)
def test_make_iin_refuses_what_an_iin_cannot_hold(birth_date, sex, serial):
    with pytest.raises(ValueError, match="IIN"):
        make_iin(birth_date, sex, serial)


def test_make_iin_round_trips_through_parse_iin():
    rng = random.Random(20240901)
    start, end = dt.date(1800, 1, 1).toordinal(), dt.date(2099, 12, 31).toordinal()
    made = refused = 0
    for _ in range(3000):
        birth_date = dt.date.fromordinal(rng.randint(start, end))
        sex = rng.choice("MF")
        serial = rng.randrange(10000)
        iin = make_iin(birth_date, sex, serial)
        first = f"{birth_date:%y%m%d}"
        if iin is None:
            refused += 1
            # No 12th digit would have made a valid number.
            prefix = None
            for digit, (century, s) in CENTURY_SEX.items():
                if century == birth_date.year // 100 * 100 and s == sex:
                    prefix = f"{first}{digit}{serial:04d}"
            assert prefix is not None
            assert iin_check_digit(prefix) is None
            for last in "0123456789":
                with pytest.raises(IINError) as exc:
                    parse_iin(prefix + last)
                assert exc.value.code == "checksum"
            continue
        made += 1
        assert len(iin) == 12 and iin.isdigit()
        assert iin.startswith(first)
        assert iin[7:11] == f"{serial:04d}"
        assert parse_iin(iin) == IINFacts(birth_date=birth_date, sex=sex)
        assert check_iin_matches(iin, birth_date, sex).birth_date == birth_date
    # Roughly 1 serial in 121 has no check digit; both branches must have been exercised.
    assert made > 2900
    assert refused > 0


def test_every_serial_of_one_day():
    birth_date = dt.date(2005, 3, 12)
    results = [make_iin(birth_date, "F", serial) for serial in range(10000)]
    valid = [iin for iin in results if iin is not None]
    assert len(set(valid)) == len(valid)
    assert all(parse_iin(iin) == IINFacts(birth_date, "F") for iin in valid)
    # Exactly the serials whose 11 digits have no check digit are refused; there are some, but few.
    refused = [serial for serial, iin in enumerate(results) if iin is None]
    assert 50 in refused
    assert 0 < len(refused) < 200


# ---------------------------------------------------------------- mask_iin


@pytest.mark.parametrize(
    ("iin", "expected"),
    [
        ("900515301234", "90••••••••34"),
        ("050312600511", "05••••••••11"),
        ("", "••••••••••••"),
        ("90051530123", "••••••••••••"),
        ("9005153012345", "••••••••••••"),
    ],
)
def test_mask_iin(iin, expected):
    assert mask_iin(iin) == expected


def test_mask_iin_never_reveals_more_than_four_digits():
    rng = random.Random(7)
    for _ in range(2000):
        length = rng.randint(0, 30)
        iin = "".join(rng.choice("0123456789") for _ in range(length))
        masked = mask_iin(iin)
        assert len(masked) == 12
        assert sum(c.isdigit() for c in masked) <= 4
        if length == 12:
            # Birth date, century digit and serial are all hidden.
            assert masked[2:10] == "•" * 8
            assert iin[2:10] not in masked
