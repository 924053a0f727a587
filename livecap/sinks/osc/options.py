"""The OSC streams a run asks for: `osc_sinks(StreamOptions)` returns ready-to-start sinks (the command line's flags
are livecap.app.flags). Every destination defaults to loopback; livecap only sends."""

from __future__ import annotations

from dataclasses import dataclass, field

from livecap.sinks.osc import plain as plain_osc
from livecap.sinks.osc import vmc as vmc_osc
from livecap.sinks.osc import vrchat as vrchat_osc
from livecap.sinks.osc.sender import OscStreamer



@dataclass
class StreamOptions:
    """The same choices as the flags, for a GUI or a config file. A None destination turns a stream off."""

    vmc: tuple[str, int] | None = None
    vmc_person: int | str | None = None  # an id, "all", or None for the first person seen
    vrchat: tuple[str, int] | None = None
    vrchat_person: int | None = None
    vrchat_trackers: tuple[str, ...] = vrchat_osc.DEFAULT_ROLES
    vrchat_height: float | None = None
    vrchat_head: bool = True
    osc: tuple[str, int] | None = None
    osc_space: str = "camera"
    stream_rate: float | None = None
    extra: dict = field(default_factory=dict)  # OscStreamer keyword arguments (queue_size, retry_s, ...)


def osc_sinks(options: StreamOptions) -> list[OscStreamer]:
    sinks = []
    if options.vmc:
        person = options.vmc_person
        encoder = vmc_osc.VmcEncoder(None if person == "all" else person, all_people=person == "all")
        sinks.append(OscStreamer("vmc", encoder, *options.vmc, rate=options.stream_rate, **options.extra))
    if options.vrchat:
        encoder = vrchat_osc.VrchatEncoder(options.vrchat_person, options.vrchat_trackers, options.vrchat_height,
                                       options.vrchat_head)
        sinks.append(OscStreamer("vrchat", encoder, *options.vrchat, rate=options.stream_rate, **options.extra))
    if options.osc:
        encoder = plain_osc.PlainEncoder(options.osc_space)
        sinks.append(OscStreamer("osc", encoder, *options.osc, rate=options.stream_rate, **options.extra))
    return sinks
