"""Reading a W&B offline run's records (``run-<id>.wandb``) for the tracking tests.

The file is a LevelDB-style log: a 7-byte header (``:W&B``, magic 0xBEE1, version 0), then
32 KiB blocks of records, each with a 7-byte header (CRC-32, length, type: full, first, middle,
last) around the bytes of one ``wandb_internal_pb2.Record``. wandb reads it in its Go core; the
format is small enough to read here with its protobuf messages.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

BLOCK = 32 * 1024
HEADER = struct.Struct("<4sHB")
RECORD = struct.Struct("<IHB")
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def _payloads(data: bytes) -> list[bytes]:
    ident, magic, version = HEADER.unpack_from(data)
    assert (ident, magic, version) == (b":W&B", 0xBEE1, 0), (ident, magic, version)
    payloads, pending, offset = [], b"", HEADER.size
    while offset + RECORD.size <= len(data):
        if BLOCK - offset % BLOCK < RECORD.size:  # a block's tail too short for a header
            offset += BLOCK - offset % BLOCK
            continue
        _, length, kind = RECORD.unpack_from(data, offset)
        offset += RECORD.size
        chunk, offset = data[offset:offset + length], offset + length
        if kind == 0 and length == 0:
            break
        pending += chunk
        if kind in (FULL, LAST):
            payloads.append(pending)
            pending = b""
    return payloads


def _value(item: Any) -> Any:
    return json.loads(item.value_json)


def _key(item: Any) -> str:
    return item.key or "/".join(item.nested_key)


def read_run(path: Path) -> dict[str, Any]:
    """The run's id, config (its updates merged) and history rows."""
    from wandb.proto import wandb_internal_pb2

    run: dict[str, Any] = {"id": None, "config": {}, "history": []}
    for payload in _payloads(path.read_bytes()):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run["id"] = record.run.run_id
            run["config"].update({_key(i): _value(i) for i in record.run.config.update})
        elif kind == "config":
            run["config"].update({_key(i): _value(i) for i in record.config.update})
        elif kind == "history":
            run["history"].append({_key(i): _value(i) for i in record.history.item})
    return run
