"""The next frame's scheduled people detection made ahead, on a thread of its own beside this frame's landmarks
(PipelineSettings.detect_ahead): the same results as made in turn, on real video through the real engine; on by
itself only where the cores pay for it."""

from __future__ import annotations

import json

import pytest

from conftest import VTEST, run_livecap
from livecap.app.cli import build_parser
from livecap.app.flags import pipeline_settings
from livecap.engine import Engine, EngineConfig
from livecap.models.runtime import DETECT_AHEAD_CORES, detect_ahead_on
from livecap.pose.pipeline import PipelineModels
from livecap.settings import PipelineSettings
from livecap.sinks.jsonl import frame_record

FRAMES = 24  # vtest at 10 fps: a whole-image run is due every 4th frame


class Results:
    """A sink that keeps each frame's results record, and which frames took a detector run made ahead."""

    name = "results"

    def __init__(self):
        self.records, self.ahead = [], []

    def start(self, info):
        pass

    def write(self, result):
        self.records.append(json.dumps(frame_record(result)))
        if "detect_ahead" in result.stage_ms:
            self.ahead.append(result.index)

    def close(self):
        pass


def engine_results(settings: PipelineSettings) -> Results:
    models = PipelineModels.load(settings)
    assert (models.ahead is not None) is settings.detect_ahead
    results = Results()
    engine = Engine(EngineConfig(str(VTEST), settings, max_frames=FRAMES), [results], models=models)
    engine.start()
    assert engine.wait(120), "the video never ended"
    assert engine.stop().state == "ended"
    return results


def test_detection_made_ahead_gives_the_same_results_as_made_in_turn():
    in_turn = engine_results(PipelineSettings(preset="fast", detect_ahead=False))
    ahead = engine_results(PipelineSettings(preset="fast", detect_ahead=True))
    assert len(ahead.records) == len(in_turn.records) == FRAMES
    assert ahead.records == in_turn.records
    assert not in_turn.ahead
    assert len(ahead.ahead) >= 3, ahead.ahead  # the scheduled runs (every 4th frame) were made ahead


@pytest.mark.parametrize("asked, cores, on", [(None, 1, False), (None, 2, False), (None, DETECT_AHEAD_CORES, True),
                                              (True, 2, True), (False, 16, False)])
def test_detection_goes_ahead_where_asked_else_from_four_cores(asked, cores, on):
    assert detect_ahead_on(asked, cores) is on


def test_detect_ahead_is_set_by_flag_and_config_file(tmp_path):
    parser = build_parser()
    args = ["process", "v.mp4", "--out", "r.jsonl"]
    assert pipeline_settings(parser.parse_args([*args, "--detect-ahead"])).detect_ahead is True
    assert pipeline_settings(parser.parse_args([*args, "--no-detect-ahead"])).detect_ahead is False
    assert pipeline_settings(parser.parse_args(args)).detect_ahead is None
    config = tmp_path / "config.toml"
    config.write_text("[pipeline]\ndetect_ahead = false\n")
    done = run_livecap("--config", str(config), "config", "--show")
    assert done.returncode == 0 and "\ndetect_ahead = false\n" in done.stdout, done.stderr
