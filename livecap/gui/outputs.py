"""The outputs the user switches on and off in the window: the BVH recorder and a stream of each kind
(livecap.sinks.osc.kinds), made with the config file's and the command line's settings (AppStart).

They are attached to the running engine with Engine.add_sink / remove_sink; switched on before the engine runs
(or while it loads), they wait and are attached as it starts. A recording is refined when it stops
(livecap.gui.refining), unless switched off. No Qt here: the window calls these and shows the returned messages."""

from __future__ import annotations

import time
from pathlib import Path

from livecap.engine import Engine
from livecap.gui.engine_runner import EngineRunner
from livecap.gui.refining import LiveTakeRecorder, TakeRefiner
from livecap.gui.settings import AppStart, StreamSetting
from livecap.sinks import Sink
from livecap.sinks.bvh.recorder import BvhOptions, BvhSink
from livecap.sinks.osc.kinds import PERSON
from livecap.sinks.osc.sender import OscStreamer


class Outputs:
    def __init__(self, runner: EngineRunner, start: AppStart | None = None):
        start = start or AppStart()
        self.runner = runner
        self.recording = start.recording  # BvhOptions' fields but the folder
        self.recorder: BvhSink | None = None
        self.refine = True  # a recording is refined when it stops (the record panel's switch)
        self.take_recorder: LiveTakeRecorder | None = None  # what perception saw, for the refine
        self.refiner = TakeRefiner()
        self.record_started: float | None = None  # monotonic time the recorder was attached to a running engine
        self.kinds = {kind.name: kind for kind in start.kinds}
        self.values = {kind.name: kind.values_from(start.streams) for kind in start.kinds}  # each kind's settings
        self.rate = start.stream_rate
        self.streamers: dict[str, OscStreamer] = {}
        self.settings: dict[str, StreamSetting] = {}
        self.person: int | None = None  # the person chosen in the window; None: none chosen

    def wanted(self) -> list[Sink]:
        recording = [sink for sink in (self.recorder, self.take_recorder) if sink is not None]
        return recording + list(self.streamers.values())

    def attach_missing(self) -> None:
        """Attaches what was switched on while the engine was not running (called once it runs)."""
        engine = self._engine()
        if engine is None:
            return
        for sink in self.wanted():
            if sink not in engine.sinks:
                engine.add_sink(sink)
        if self.recorder is not None and self.record_started is None:
            self.record_started = time.monotonic()

    def _engine(self) -> Engine | None:
        return self.runner.engine if self.runner.phase == "running" else None

    def engine_stopped(self) -> str:
        """After the engine stopped (and so closed every sink): the recording is complete, and the streams are
        made afresh so that they go on with the next start (a closed sink does not start again)."""
        recorder, takes = self._detach_recording()
        for name, setting in list(self.settings.items()):
            self.streamers.pop(name, None)
            self.set_stream(name, setting)
        return self._recorded(recorder, takes) if recorder is not None else ""

    # ---- recording
    def start_recording(self, folder: str) -> str:
        if not folder.strip():
            raise ValueError("choose a folder for the recordings first")
        self.recorder = BvhSink(BvhOptions(directory=Path(folder).expanduser(), **self.recording))
        self.take_recorder = LiveTakeRecorder() if self.refine else None
        self.record_started = None
        if self.take_recorder is not None:
            self.runner.add_sink(self.take_recorder)
        if self.runner.add_sink(self.recorder):
            self.record_started = time.monotonic()
            return f"recording every person to {self.recorder.options.directory}"
        return "recording will start with the engine"

    def elapsed(self) -> float | None:
        return None if self.record_started is None else time.monotonic() - self.record_started

    def stop_recording(self) -> str:
        """Detaches the recorder (it completes its files) and says where they went; the take is then refined."""
        recorder, takes = self._detach_recording()
        if recorder is None:
            return ""
        self.runner.remove_sink(recorder)
        if takes is not None:
            self.runner.remove_sink(takes)
        return self._recorded(recorder, takes)

    def _detach_recording(self) -> tuple[BvhSink | None, LiveTakeRecorder | None]:
        recording = self.recorder, self.take_recorder
        self.recorder = self.take_recorder = self.record_started = None
        return recording

    def _recorded(self, recorder: BvhSink, takes: LiveTakeRecorder | None) -> str:
        """Where the live take went; it is refined now when it has files, its take was kept whole and the Refine
        switch is still on (switched off while recording: the live take is the take)."""
        message = recorded_message(recorder)
        take = takes.take if takes is not None else None
        if take is None:
            return message
        if not recorder.files or not self.refine or takes.error is not None or recorder.failed:
            take.close()
            failure = takes.error or ("its recording failed" if recorder.failed else None)
            return f"{message}; not refined: {failure}" if failure and recorder.files else message
        self.refiner.submit(take, recorder)
        return f"{message}; refining it…"

    # ---- streaming
    def set_stream(self, name: str, setting: StreamSetting | None) -> None:
        """Turns a stream on (with its host and port) or off (setting None)."""
        old = self.streamers.pop(name, None)
        if old is not None:
            self.runner.remove_sink(old)
        if setting is None:
            self.settings.pop(name, None)
            return
        self.settings[name] = setting
        streamer = self.kinds[name].sink((setting.host, setting.port), self.values[name], self.rate)
        self.streamers[name] = streamer
        self.runner.add_sink(streamer)

    def followed(self) -> dict[str, object]:
        """Kind name -> the person its stream follows, for each kind that follows one person."""
        return {name: self.values[name][PERSON] for name, kind in self.kinds.items() if kind.follows_person}

    def set_person(self, person: int | None) -> None:
        """The person every stream that follows one person sends; running ones restart with the new choice."""
        self.person = person
        for name in self.followed():
            self.values[name][PERSON] = person
            if name in self.streamers:
                self.set_stream(name, self.settings[name])

    def stream_light(self, name: str) -> tuple[str, str]:
        """(off | waiting | ok | error, tooltip) for a stream's status light."""
        streamer = self.streamers.get(name)
        if streamer is None:
            return "off", "off"
        stats = streamer.stats()
        engine = self._engine()
        sink = next((s for s in engine.status().sinks if s.name == name), None) if engine else None
        if sink is not None and sink.error:
            return "error", sink.error
        dropped = sink.dropped if sink is not None else 0
        tip = f"{stats.status}; {stats.sent} frames sent, {dropped} dropped, {stats.failed} failed"
        if stats.status.startswith("streaming") and stats.sent:
            return "ok", tip
        if stats.errors or stats.failed:
            return "error", tip
        return "waiting", tip if engine else "waiting for the engine to start"


def recorded_message(recorder: BvhSink) -> str:
    folder = recorder.options.directory
    if not recorder.files:
        return (f"no BVH file written: nobody was tracked for {recorder.options.min_seconds:g} s or more "
                f"(folder {folder})")
    names = ", ".join(path.name for path in recorder.files)
    return f"{len(recorder.files)} BVH file(s) saved in {folder}: {names}"
