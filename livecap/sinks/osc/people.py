"""Which tracked person drives a one-person stream, and which port each person gets when all are streamed."""

from __future__ import annotations


class PersonChooser:
    """A fixed id, or (wanted=None) whoever is followed already, else the lowest id present: the stream stays on
    one person until they leave."""

    def __init__(self, wanted: int | None = None):
        self.wanted = wanted
        self.current: int | None = None

    def choose(self, ids: list[int]) -> int | None:
        if self.wanted is not None:
            self.current = self.wanted if self.wanted in ids else None
        elif self.current not in ids:
            self.current = min(ids) if ids else None
        return self.current


class SlotAssigner:
    """Gives each present person the lowest free slot (port offset); a slot is freed when its person leaves."""

    def __init__(self):
        self.slots: dict[int, int] = {}

    def assign(self, ids: list[int]) -> dict[int, int]:
        for gone in set(self.slots) - set(ids):
            del self.slots[gone]
        for person in sorted(ids):
            if person not in self.slots:
                used = set(self.slots.values())
                self.slots[person] = next(s for s in range(len(used) + 1) if s not in used)
        return dict(self.slots)


class Presence:
    """People who appeared and left since the previous call."""

    def __init__(self):
        self.present: set[int] = set()

    def update(self, ids: list[int]) -> tuple[list[int], list[int]]:
        now = set(ids)
        appeared, left = sorted(now - self.present), sorted(self.present - now)
        self.present = now
        return appeared, left
