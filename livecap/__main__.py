from livecap.app.cli import entry

entry()
