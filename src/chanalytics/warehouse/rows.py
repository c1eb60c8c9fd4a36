"""How many rows a written export file holds, read back from the file itself: the count
must be the file's, not a count taken beside it while events may still arrive."""

from __future__ import annotations

import csv
import struct
from pathlib import Path


def count_rows(path: Path, fmt: str) -> int:
    if fmt == "ndjson":  # JSON text never holds a raw newline: one line per row
        with path.open("rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    if fmt == "csv":  # quoted values may hold line breaks: parse, then drop the header
        with path.open(newline="", encoding="utf-8") as f:
            return max(0, sum(1 for _ in csv.reader(f)) - 1)
    if fmt == "parquet":
        return parquet_rows(path)
    raise ValueError(f"unknown export format {fmt!r}")


def parquet_rows(path: Path) -> int:
    """`num_rows` of a Parquet file's footer (Thrift compact `FileMetaData`, field 3)."""
    data = path.read_bytes()
    if len(data) < 12 or data[-4:] != b"PAR1":
        raise ValueError(f"{path.name} is not a Parquet file")
    size = struct.unpack("<I", data[-8:-4])[0]
    reader = _Compact(data[-8 - size:-8])
    field = 0
    while (kind := reader.field_header(field)) is not None:
        field, type_id = kind
        if field == 3 and type_id == 6:
            return reader.zigzag()
        reader.skip(type_id)
    raise ValueError(f"{path.name}: no row count in the Parquet footer")


class _Compact:
    """Just enough of Thrift's compact protocol to walk a struct's fields."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def byte(self) -> int:
        self.at += 1
        return self.data[self.at - 1]

    def varint(self) -> int:
        shift = value = 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def field_header(self, last: int) -> tuple[int, int] | None:
        """(field id, type) of the next field, or None at the struct's end."""
        b = self.byte()
        if b == 0:
            return None
        delta, type_id = b >> 4, b & 0x0F
        return (last + delta if delta else self.zigzag()), type_id

    def skip(self, type_id: int) -> None:
        if type_id in (1, 2):  # a boolean field's value is its type
            return
        if type_id == 3:
            self.at += 1
        elif type_id in (4, 5, 6):
            self.varint()
        elif type_id == 7:
            self.at += 8
        elif type_id == 8:
            length = self.varint()  # read before `at` is: `at += varint()` would not
            self.at += length
        elif type_id in (9, 10):
            header = self.byte()
            count, element = header >> 4, header & 0x0F
            if count == 15:
                count = self.varint()
            for _ in range(count):
                if element in (1, 2):
                    self.at += 1  # a boolean in a list is a byte
                else:
                    self.skip(element)
        elif type_id == 11:
            count = self.varint()
            if count:
                types = self.byte()
                for _ in range(count):
                    self.skip(types >> 4)
                    self.skip(types & 0x0F)
        elif type_id == 12:
            field = 0
            while (kind := self.field_header(field)) is not None:
                field, inner = kind
                self.skip(inner)
        else:
            raise ValueError(f"unknown Thrift compact type {type_id}")
