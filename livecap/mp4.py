"""The top-level layout of an ISO base media file (mp4, mov, m4v, 3gp), to say why one cannot be read.

Such a file is a row of boxes (size, type, contents). Its index, the `moov` box, says where every frame is; many
recorders write it last, when the recording stops. A copy or download cut short, or a recording interrupted
before it stopped, has the frames' data (`mdat`) but no index, and no player or decoder can find a frame in it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

MAX_BOXES = 10000  # far more than any real file has at its top level: a corrupt size cannot loop for long


@dataclass(frozen=True)
class Layout:
    boxes: tuple[str, ...]  # the top-level box types, in order
    size: int  # bytes in the file
    announced: int  # bytes the boxes say they hold: more than `size` when the file is cut short

    @property
    def indexed(self) -> bool:
        return "moov" in self.boxes

    @property
    def cut_short(self) -> bool:
        return self.announced > self.size


def layout(path: Path) -> Layout | None:
    """The file's boxes, or None when it is no ISO base media file (its first box is not `ftyp`)."""
    try:
        with open(path, "rb") as file:
            size = file.seek(0, 2)
            boxes, end = _boxes(file, size)
    except OSError:
        return None
    return Layout(tuple(boxes), size, end) if boxes[:1] == ["ftyp"] else None


def _boxes(file, size: int) -> tuple[list[str], int]:
    boxes, offset = [], 0
    while offset + 8 <= size and len(boxes) < MAX_BOXES:
        file.seek(offset)
        head = file.read(16)
        length, kind = struct.unpack(">I4s", head[:8])
        if length == 1 and len(head) == 16:  # a 64-bit size follows the type
            length = struct.unpack(">Q", head[8:])[0]
        elif length == 0:  # "to the end of the file": a recorder that never came back to write the size
            length = size - offset
        if length < 8:
            break
        boxes.append(kind.decode("latin-1"))
        offset += length
    return boxes, offset
