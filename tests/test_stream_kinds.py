"""The table of stream kinds (livecap.sinks.osc.kinds): the flags, the config file's sections and the desktop app's
stream rows all come from it, so a new protocol is one entry plus its encoder; destinations default to loopback,
and a bad stream flag is one line."""

from __future__ import annotations

import pytest

from conftest import TWO_PEOPLE
from livecap.app import config
from livecap.app.cli import _commands, _configure, _references, build_parser
from livecap.app.flags import app_start, osc_sinks_from_args
from livecap.sinks.osc.kinds import KINDS, Setting, StreamKind, parse_destination
from osc_receivers import Receiver


class EchoEncoder:
    """A made-up protocol: each frame's number and head count to /echo/<label>."""

    def __init__(self, label: str):
        self.label = label

    def encode(self, result):
        return [(0, [(f"/echo/{self.label}", (int(result.index), len(result.people)))])]


ECHO = StreamKind("echo", "Echo", 9123, "stream frame numbers to an echo receiver", lambda v: EchoEncoder(v["label"]),
                  settings=(Setting("label", "--echo-label", None, "the address's last part (default frame)",
                                    default="frame", metavar="NAME"),))


def test_a_new_stream_kind_is_one_table_entry_for_the_flags_the_config_file_and_the_app(make_window, qtbot, tmp_path):
    kinds = (*KINDS, ECHO)  # a copy of the table with one more entry: nothing else is changed
    parser = build_parser(kinds)
    assert "--echo-label NAME" in _commands(parser)["run"].format_help()
    args = parser.parse_args(["run", "--echo", "9200", "--echo-label", "beat"])
    [echo] = osc_sinks_from_args(args, kinds)
    assert (echo.name, echo.host, echo.port, echo.encoder.label) == ("echo", "127.0.0.1", 9200, "beat")

    with Receiver() as receiver:
        path = tmp_path / "config.toml"
        path.write_text(f'[echo]\ndestination = "127.0.0.1:{receiver.port}"\nlabel = "tick"\n')
        argv = ["--config", str(path), "gui"]
        parser = build_parser(kinds)
        _configure(parser, argv, kinds)
        shown = config.show(_references(_commands(parser)), path, kinds)
        assert "\n[echo]\n# --echo: stream frame numbers" in shown and 'label = "tick"' in shown
        window = make_window(start=app_start(parser.parse_args(argv), kinds))
        row = window.stream_panel.rows["echo"]
        assert row.enabled.text() == "Echo" and row.enabled.isChecked() and row.port.value() == receiver.port
        window.source_panel.set_source(str(TWO_PEOPLE))
        window.start()
        receiver.wait_for(5, timeout=120)
        window.stop()
        addresses = {address for bundle in receiver.bundles() for address, _, _ in bundle}
    assert addresses == {"/echo/tick"}, addresses


def test_a_kind_that_follows_one_person_has_a_person_setting():
    with pytest.raises(ValueError, match="no 'person' setting"):
        StreamKind("solo", "Solo", 9, "one person", lambda v: None, follows_person=True)
    assert all(kind.values_from({})["person"] is None for kind in KINDS if kind.follows_person)


def test_destinations_default_to_loopback():
    assert parse_destination("9000", 1) == ("127.0.0.1", 9000)
    assert parse_destination("studio.local:9001", 1) == ("studio.local", 9001)
    assert parse_destination("studio.local", 39539) == ("studio.local", 39539)
    assert parse_destination("[::1]:7000", 1) == ("::1", 7000)
    args = build_parser().parse_args(["process", "in.mp4", "--out", "o.jsonl", "--vmc", "--vrchat", "--osc"])
    sinks = osc_sinks_from_args(args)
    assert [(s.name, s.host, s.port) for s in sinks] == [("vmc", "127.0.0.1", 39539), ("vrchat", "127.0.0.1", 9000),
                                                         ("osc", "127.0.0.1", 7000)]
    assert osc_sinks_from_args(build_parser().parse_args(["process", "in.mp4", "--out", "o.jsonl"])) == []


@pytest.mark.parametrize("flags", [["--vmc", "70000"], ["--vrchat", "host:port"], ["--stream-rate", "0"],
                                   ["--vmc-person", "me"], ["--vrchat-trackers", "hips,wings"],
                                   ["--osc-space", "world"], ["--vrchat-height", "17"],
                                   ["--vmc-blendshapes", "vrm2"]])
def test_bad_stream_flags_are_a_one_line_error(flags, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["process", "in.mp4", "--out", "o.jsonl", *flags])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("livecap process: error: argument " + flags[0])
