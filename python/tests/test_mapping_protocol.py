"""CPython's own mapping test suite, the one its shelve tests reuse
(test.mapping_tests.BasicTestMappingProtocol), run against dirkv.Store with each codec.

Skipped, with the reason printed, where the interpreter has no ``test`` package (some
distributions ship it separately, e.g. Debian's ``libpython3-testsuite``)."""

from __future__ import annotations

import itertools

import pytest

try:
    from test import mapping_tests
except ImportError as e:  # pragma: no cover - depends on the interpreter
    pytest.skip(
        f"CPython's test package is not installed ({e}); the mapping protocol suite is skipped",
        allow_module_level=True,
    )

from support import new


class _StoreMappingBase:
    """What each codec's suite shares: one fresh store per `_empty_mapping()`."""

    store_options: dict = {}

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path):
        # pytest's tmp_path (a unittest TestCase takes fixtures this way only).
        self._tmp = tmp_path
        self._count = itertools.count()

    def _empty_mapping(self):
        s = new(self._tmp / f"s{next(self._count)}", mode="error", **self.store_options)
        self.addCleanup(s.close)
        return s


class TestPickleStore(_StoreMappingBase, mapping_tests.BasicTestMappingProtocol):
    """With pickle, every value of the suite's reference data round-trips as it is
    (tuples stay tuples), as with shelve."""

    store_options = {"codec": "pickle"}


class TestMsgPackStore(_StoreMappingBase, mapping_tests.BasicTestMappingProtocol):
    """MessagePack reads a tuple back as a list, so the reference data has a list where
    the suite has a tuple; nothing else changes."""

    def _reference(self):
        return {"1": "2", "key1": "value1", "key2": [1, 2, 3]}


class TestJsonStore(TestMsgPackStore):
    store_options = {"codec": "json"}


class TestBytesKeyStore(_StoreMappingBase, mapping_tests.BasicTestMappingProtocol):
    """A bytes-keyed raw store, as the dbm modules under shelve are."""

    store_options = {"key": "bytes", "codec": "raw"}

    def _reference(self):
        return {b"1": b"2", b"key1": b"value1", b"key2": b"\x00\x01\x02"}

    def test_update(self):
        pytest.skip("the suite's test_update writes str keys, which a bytes-keyed store refuses")
