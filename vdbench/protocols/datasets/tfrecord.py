"""TFRecord files and tf.train.Example records, read without TensorFlow.

A TFRecord file is a run of records, each: uint64 data length (little endian), uint32 masked
CRC-32C of those 8 bytes, the data, uint32 masked CRC-32C of the data. We index a file by walking
the length headers (checking each header's CRC and seeking over the data), so record ``i`` can be
read without reading the ones before it. The data CRC is not checked: CRC-32C over ~0.7 MB per
BAIR record is slow in pure Python. Damage is caught by the header CRCs, the protobuf structure
and the image byte counts the readers check instead.

A record's data is a serialised ``tf.train.Example`` (or a ``SequenceExample``, whose context has
the same field number and layout): ``features {feature {key: "..." value {bytes_list {...}}}}``.
We decode the protobuf wire format for the bytes features we are asked for and skip the rest.
"""

from __future__ import annotations

import functools
import struct
from pathlib import Path
from typing import Optional

from vdbench.metrics.errors import InputError

_HEADER = struct.Struct("<QI")


@functools.lru_cache(maxsize=1)
def _crc32c_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)  # reflected Castagnoli polynomial
        table.append(crc)
    return tuple(table)


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC-32C: rotate right by 15 and add a constant (mod 2^32)."""
    table, crc = _crc32c_table(), 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def index_records(path: Path) -> list[tuple[int, int]]:
    """(data offset, data length) of every record in a TFRecord file."""
    size = path.stat().st_size
    records: list[tuple[int, int]] = []
    with open(path, "rb") as f:
        pos = 0
        while pos < size:
            header = f.read(_HEADER.size)
            where = f"{path}: record {len(records)} at byte {pos}"
            if len(header) < _HEADER.size:
                raise InputError(f"{where}: truncated header (file cut short?)")
            length, crc = _HEADER.unpack(header)
            if masked_crc32c(header[:8]) != crc:
                raise InputError(f"{where}: corrupt record header (not a TFRecord file, or "
                                 f"damaged)")
            end = pos + _HEADER.size + length + 4
            if end > size:
                raise InputError(f"{where}: needs {end - pos} bytes, the file ends after "
                                 f"{size - pos} (truncated download?)")
            records.append((pos + _HEADER.size, length))
            pos = end
            f.seek(pos)
    return records


def read_record(path: Path, offset: int, length: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(length)
    if len(data) != length:
        raise InputError(f"{path}: record at byte {offset} is cut short")
    return data


class _WireError(ValueError):
    """Malformed protobuf bytes."""


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise _WireError("truncated or overlong varint")
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def _fields(buf: memoryview):
    """(field number, wire type, value) of a message; length-delimited values as memoryviews."""
    pos = 0
    value: int | memoryview
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise _WireError("length-delimited field runs past the end")
            value, pos = buf[pos:pos + length], pos + length
        elif wire in (1, 5):
            step = 8 if wire == 1 else 4
            value, pos = buf[pos:pos + step], pos + step
        else:
            raise _WireError(f"unsupported wire type {wire}")
        if pos > len(buf):
            raise _WireError("field runs past the end")
        yield number, wire, value


def _bytes_list(feature: memoryview) -> Optional[list[bytes]]:
    """The values of a Feature's bytes_list (field 1); None for float/int64 lists."""
    values = None
    for number, wire, value in _fields(feature):
        if number == 1 and wire == 2:  # Feature.bytes_list
            values = (values or []) + [bytes(v) for n, w, v in _fields(value) if n == 1 and w == 2]
    return values


def example_bytes_features(data: bytes, keys: Optional[set[str]] = None
                           ) -> dict[str, list[bytes]]:
    """The bytes features of a serialised tf.train.Example, only ``keys`` if given.

    Raises ``ValueError`` if ``data`` is not a well-formed protobuf message.
    """
    out: dict[str, list[bytes]] = {}
    for number, wire, features in _fields(memoryview(data)):
        if number != 1 or wire != 2:  # Example.features / SequenceExample.context
            continue
        for n, w, entry in _fields(features):
            if n != 1 or w != 2:  # Features.feature: map<string, Feature> entries
                continue
            parts = {k: v for k, t, v in _fields(entry) if t == 2}
            key = bytes(parts.get(1, b"")).decode("utf-8", errors="replace")
            if keys is None or key in keys:
                values = _bytes_list(parts.get(2, memoryview(b"")))
                if values is not None:
                    out[key] = values
    return out
