"""The pytest plugin (entry point `pytest11`): a session-wide `vod_emulator` fixture.

One emulator runs for the whole session, started on first use. Before each test that uses the
fixture it is reset (unless the test is marked `vod_emulator_keep_state`), and while that test
runs the process environment is what `vod-emulator exec` sets — proxy, CA, shim, credentials —
so unmodified code using the official SDKs reaches the emulator; pytest restores it afterwards.
"""

import pytest

from vod_emulator.emulator import Emulator, StartError

KEEP_STATE = "vod_emulator_keep_state"


def pytest_addoption(parser):
    group = parser.getgroup("vod-emulator", "Tencent Cloud VOD emulator")
    group.addoption(
        "--vod-emulator-bin",
        metavar="PATH",
        help="the vod-emulator binary (default: the one installed with this plugin, or PATH's)",
    )
    group.addoption(
        "--vod-emulator-data-dir",
        metavar="DIR",
        help="keep the emulator's state in DIR (default: a temporary directory)",
    )
    group.addoption(
        "--vod-emulator-arg",
        metavar="ARG",
        action="append",
        default=[],
        help="pass ARG to the emulator (repeatable), e.g. --vod-emulator-arg=--strict",
    )
    group.addoption(
        "--vod-emulator-timeout",
        metavar="SECONDS",
        type=float,
        default=30.0,
        help="how long the emulator may take to start (default 30)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"{KEEP_STATE}: do not reset the emulator before this test"
    )


@pytest.fixture(scope="session")
def vod_emulator(request):
    """The session's emulator: `endpoint`, `secret_id`, `secret_key`, `app_id`, `region`,
    `env`, `faults.add(...)`/`faults.clear()`, `events(...)`/`wait_event(...)`,
    `clock.advance(...)`, `journal(...)`, `reset()`."""
    option = request.config.getoption
    try:
        emulator = Emulator.start(
            binary=option("--vod-emulator-bin"),
            data_dir=option("--vod-emulator-data-dir"),
            args=option("--vod-emulator-arg"),
            timeout=option("--vod-emulator-timeout"),
        )
    except StartError as err:
        failure = f"vod-emulator could not start: {err}"
    else:
        failure = None
    if failure:
        pytest.fail(failure, pytrace=False)
    yield emulator
    emulator.stop()


@pytest.fixture(autouse=True)
def _vod_emulator_environment(request, monkeypatch):
    """For tests that use `vod_emulator`: a reset, then the `exec` environment for the test's
    duration. In this process the Python shim cannot run at start-up, so `certifi.where()` is
    pointed at the emulator CA here, as the shim does in child processes."""
    if "vod_emulator" not in request.fixturenames:
        yield
        return
    emulator = request.getfixturevalue("vod_emulator")
    if request.node.get_closest_marker(KEEP_STATE) is None:
        emulator.reset()
    for name, value in emulator.env.items():
        monkeypatch.setenv(name, value)
    try:
        import certifi
    except ImportError:
        certifi = None
    if certifi is not None:
        monkeypatch.setattr(certifi, "where", lambda: emulator.ca)
    yield
