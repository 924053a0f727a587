"""Live motion over OSC: VMC protocol, VRChat OSC trackers and a plain per-joint scheme for creative tools.

The modules here are pure: a FrameResult goes in, OSC messages come out as (address, args) pairs, where a Python
float is sent as OSC float32 ('f'), an int as int32 ('i') and a str as a string ('s'). The sink that turns them
into bundles on a UDP socket (on the engine's sink worker) is livecap.sinks.osc.sender; kinds.py is the table of
stream kinds (flags, config keys, defaults, encoder factory) that the command line, the config file and the desktop
app read.
"""

from __future__ import annotations

Message = tuple[str, tuple]  # (address, args): float -> 'f', int -> 'i', str -> 's'
Packet = tuple[int, list[Message]]  # (destination slot: added to the stream's base port, one bundle's messages)
