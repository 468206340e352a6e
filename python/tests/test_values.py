"""Values: round trips of every Python value type each codec carries, the exact
MessagePack bytes (as rmp_serde writes them for Rust types), and values a codec refuses."""

from __future__ import annotations

import collections
import datetime
import decimal
import enum
import fractions
import math
import os

import pytest

import dirkv
from support import new

# Values MessagePack carries, with what they read back as (tuples read as lists, bytearray
# and memoryview as bytes).
MSGPACK_VALUES = [
    (None, None),
    (True, True),
    (False, False),
    (0, 0),
    (1, 1),
    (-1, -1),
    (127, 127),
    (128, 128),
    (-32, -32),
    (-33, -33),
    (2**63 - 1, 2**63 - 1),
    (2**64 - 1, 2**64 - 1),
    (-(2**63), -(2**63)),
    (0.5, 0.5),
    (-0.0, -0.0),
    (float("inf"), float("inf")),
    (1e308, 1e308),
    ("", ""),
    ("héllo ✓ \U0001f600", "héllo ✓ \U0001f600"),
    ("x" * 40, "x" * 40),
    ("y" * 300, "y" * 300),
    ("z" * 70_000, "z" * 70_000),
    (b"", b""),
    (b"\x00\xff" * 200, b"\x00\xff" * 200),
    (bytearray(b"abc"), b"abc"),
    (memoryview(b"mv"), b"mv"),
    ([], []),
    ((), []),
    ([1, "a", None, [2.5, b"b"]], [1, "a", None, [2.5, b"b"]]),
    ((1, (2, 3)), [1, [2, 3]]),
    (list(range(20)), list(range(20))),
    (list(range(70_000)), list(range(70_000))),
    ({}, {}),
    ({"title": "Home", "words": 120}, {"title": "Home", "words": 120}),
    ({1: "one", -2: "minus two"}, {1: "one", -2: "minus two"}),
    ({"nested": {"deeper": {"list": [{"a": 1}]}}}, {"nested": {"deeper": {"list": [{"a": 1}]}}}),
    ({str(i): i for i in range(20)}, {str(i): i for i in range(20)}),
    (collections.OrderedDict(b=1, a=2), {"b": 1, "a": 2}),
    ({(1, 2): "tuple key"}, {(1, 2): "tuple key"}),
]


@pytest.mark.parametrize("value,back", MSGPACK_VALUES, ids=lambda v: repr(v)[:30])
def test_msgpack_round_trips(store, value, back):
    store["k"] = value
    got = store["k"]
    assert got == back
    assert type(got) is type(back)
    if isinstance(back, float):
        assert math.copysign(1, got) == math.copysign(1, back)


def test_nan_round_trips(store):
    store["k"] = float("nan")
    assert math.isnan(store["k"])


def test_subclasses_of_carried_types_are_written_as_their_base(store):
    class Color(enum.IntEnum):
        RED = 1

    class Name(str):
        pass

    store["k"] = [Color.RED, Name("n"), collections.defaultdict(int, a=1)]
    assert store["k"] == [1, "n", {"a": 1}]


# Bytes that rmp_serde writes for the same Rust values (checked against rmp's encoders:
# integers in their smallest form, f64 for floats, structs as maps of field names).
EXACT = [
    (None, b"\xc0"),
    (True, b"\xc3"),
    (5, b"\x05"),
    (-5, b"\xfb"),
    (200, b"\xcc\xc8"),
    (-100, b"\xd0\x9c"),
    (70_000, b"\xce\x00\x01\x11\x70"),
    (2**40, b"\xcf" + (2**40).to_bytes(8, "big")),
    (-(2**40), b"\xd3" + (-(2**40)).to_bytes(8, "big", signed=True)),
    (0.5, b"\xcb?\xe0\x00\x00\x00\x00\x00\x00"),
    ("ab", b"\xa2ab"),
    (b"ab", b"\xc4\x02ab"),
    ([1, 2], b"\x92\x01\x02"),
    ({"title": "Home", "words": 120}, b"\x82\xa5title\xa4Home\xa5words\x78"),
]


@pytest.mark.parametrize("value,encoded", EXACT, ids=lambda v: repr(v)[:30])
def test_msgpack_bytes_are_what_rmp_serde_writes(tmp_path, value, encoded):
    with new(tmp_path / "s") as s:
        s["k"] = value
        with open(s.path_of("k"), "rb") as f:
            data = f.read()
    assert data.endswith(b"k" + encoded)


def test_every_messagepack_form_rust_writes_reads_back(tmp_path):
    # MessagePack as Rust may write it (f32, the wider int and length forms): written as
    # bytes by a raw store, then read by a msgpack store over the same folder (the two
    # differ only in the manifest's codec line).
    samples = {
        "f32": (b"\xca\x3f\xc0\x00\x00", 1.5),
        "u16": (b"\xcd\x01\x00", 256),
        "u32": (b"\xce\x00\x01\x00\x00", 65536),
        "i8": (b"\xd0\x80", -128),
        "i16": (b"\xd1\x80\x00", -32768),
        "i32": (b"\xd2\x80\x00\x00\x00", -(2**31)),
        "str8": (b"\xd9\x03abc", "abc"),
        "str16": (b"\xda\x00\x03abc", "abc"),
        "str32": (b"\xdb\x00\x00\x00\x03abc", "abc"),
        "bin16": (b"\xc5\x00\x01z", b"z"),
        "bin32": (b"\xc6\x00\x00\x00\x01z", b"z"),
        "arr16": (b"\xdc\x00\x01\x07", [7]),
        "arr32": (b"\xdd\x00\x00\x00\x01\x07", [7]),
        "map16": (b"\xde\x00\x01\xa1a\x07", {"a": 7}),
        "map32": (b"\xdf\x00\x00\x00\x01\xa1a\x07", {"a": 7}),
        "unit struct": (b"\x90", []),
        "newtype variant": (b"\x81\xa4Some\x07", {"Some": 7}),
    }
    with new(tmp_path / "s", codec="raw") as raw:
        raw.set_many({name: encoded for name, (encoded, _) in samples.items()})
    manifest = tmp_path / "s" / "DIRKV"
    manifest.write_text(manifest.read_text().replace("codec = raw", "codec = msgpack"))
    with new(tmp_path / "s", mode="update") as s:
        assert s.codec == "msgpack"
        for name, (_, want) in samples.items():
            got = s[name]
            assert got == want and type(got) is type(want), name


def test_messagepack_the_mapping_does_not_read_is_a_decode_error(tmp_path):
    with new(tmp_path / "s", codec="raw") as raw:
        raw["ext"] = b"\xd4\x01\x02"  # fixext 1
        raw["utf8"] = b"\xa1\xff"  # a str that is not UTF-8
        raw["key"] = b"\x81\x81\xa1a\x01\x02"  # a map as a map key
    manifest = tmp_path / "s" / "DIRKV"
    manifest.write_text(manifest.read_text().replace("codec = raw", "codec = msgpack"))
    with new(tmp_path / "s", mode="update") as s:
        for name, message in [("ext", "ext"), ("utf8", "UTF-8"), ("key", "unhashable")]:
            with pytest.raises(dirkv.DecodeError, match=message) as e:
                s[name]
            assert e.value.path == s.path_of(name)


def test_values_too_deep_or_cyclic_are_refused(store):
    cyclic = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError, match="nested"):
        store["k"] = cyclic
    deep = []
    for _ in range(dirkv._dirkv.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(ValueError):
        store["k"] = deep
    ok = []
    for _ in range(100):
        ok = [ok]
    store["k"] = ok
    assert store["k"] == ok
    assert "k" in store


@pytest.mark.parametrize(
    "value,name",
    [
        ({1, 2}, "set"),
        (frozenset(), "frozenset"),
        (object(), "object"),
        (1j, "complex"),
        (decimal.Decimal("1.5"), "Decimal"),
        (fractions.Fraction(1, 3), "Fraction"),
        (datetime.date(2020, 1, 1), "date"),
        ([1, {2}], "set"),
        ({"a": [object()]}, "object"),
    ],
    ids=lambda v: repr(v)[:20],
)
def test_values_msgpack_cannot_carry_raise_type_error_and_write_nothing(store, value, name):
    store["k"] = "old"
    with pytest.raises(TypeError, match=f"'{name}'"):
        store["k"] = value
    with pytest.raises(TypeError, match=f"'{name}'"):
        store.set_many({"k2": 1, "k": value})
    with pytest.raises(TypeError):
        store.modify("k", lambda old: value)
    with pytest.raises(TypeError):
        store.set_if_absent("k3", value)
    assert store["k"] == "old"
    assert "k2" not in store and "k3" not in store
    assert len(store) == 1


def test_ints_beyond_64_bits_overflow(store):
    with pytest.raises(OverflowError):
        store["k"] = 2**64
    with pytest.raises(OverflowError):
        store["k"] = -(2**63) - 1
    assert "k" not in store


JSON_VALUES = [
    (None, None),
    (True, True),
    (3, 3),
    (-2.5, -2.5),
    ("héllo ✓", "héllo ✓"),
    ([1, [2, "x"]], [1, [2, "x"]]),
    ((1, 2), [1, 2]),
    ({"title": "Home", "words": 120}, {"title": "Home", "words": 120}),
    ({1: "int keys become strings"}, {"1": "int keys become strings"}),
    (2**70, 2**70),
]


@pytest.mark.parametrize("value,back", JSON_VALUES, ids=lambda v: repr(v)[:30])
def test_json_round_trips(tmp_path, value, back):
    with new(tmp_path / "s", codec="json") as s:
        s["k"] = value
        assert s["k"] == back


def test_json_is_compact_text_cat_shows(tmp_path):
    with new(tmp_path / "s", codec="json") as s:
        s["home"] = {"title": "Home ✓", "words": 120}
        with open(s.path_of("home"), "rb") as f:
            assert f.read().endswith(b'home{"title":"Home \xe2\x9c\x93","words":120}')


def test_json_refuses_what_it_cannot_carry(tmp_path):
    with new(tmp_path / "s", codec="json") as s:
        with pytest.raises(TypeError, match="bytes"):
            s["k"] = b"x"
        with pytest.raises(TypeError, match="set"):
            s["k"] = {1}
        with pytest.raises(ValueError):
            s["k"] = float("nan")
        assert len(s) == 0


def test_raw_is_bytes_only(tmp_path):
    with new(tmp_path / "s", codec="raw") as s:
        s["k"] = b"\x00\x01"
        s["b"] = bytearray(b"ba")
        s["m"] = memoryview(b"mv")
        assert (s["k"], s["b"], s["m"]) == (b"\x00\x01", b"ba", b"mv")
        with pytest.raises(TypeError, match="bytes, not 'str'"):
            s["k"] = "text"
        assert s["k"] == b"\x00\x01"


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)


PICKLE_VALUES = [
    {1, 2, 3},
    frozenset("ab"),
    (1, (2, 3)),
    1j,
    2**200,
    decimal.Decimal("1.5"),
    fractions.Fraction(1, 3),
    datetime.datetime(2020, 1, 2, 3, 4, 5),
    Point(1, 2),
    collections.Counter("hello"),
    {"nested": [Point(3, 4), {5}]},
]


@pytest.mark.parametrize("value", PICKLE_VALUES, ids=lambda v: repr(v)[:30])
def test_pickle_round_trips_any_python_object(tmp_path, value):
    with new(tmp_path / "s", codec="pickle") as s:
        s["k"] = value
        got = s["k"]
        assert got == value and type(got) is type(value)


def test_pickle_refuses_what_pickle_cannot_carry(tmp_path):
    with new(tmp_path / "s", codec="pickle") as s:
        with pytest.raises(TypeError, match="'function'") as e:
            s["k"] = lambda: 1
        assert e.value.__cause__ is not None
        assert "k" not in s


def test_pickle_manifest_and_explicit_open(tmp_path):
    with new(tmp_path / "s", codec="pickle") as s:
        s["k"] = {1}
    assert "codec = pickle" in (tmp_path / "s" / "DIRKV").read_text()
    with pytest.raises(dirkv.IncompatibleFormatError, match='codec="pickle"'):
        new(tmp_path / "s")
    with new(tmp_path / "s", codec="pickle") as s:
        assert s["k"] == {1}


def test_large_values_compressed_and_not(tmp_path):
    big = os.urandom(1 << 20)
    text = "abc" * 100_000
    with new(tmp_path / "s", compression=1024) as s:
        s["random"] = big
        s["text"] = text
        assert s["random"] == big and s["text"] == text
        assert s.metadata("text").compressed
        assert not s.metadata("random").compressed
