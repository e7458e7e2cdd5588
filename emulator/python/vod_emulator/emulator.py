"""One `vod-emulator` process and its admin API (`/_emulator/…`), for the pytest plugin and for
scripts: start it on a free port, learn its endpoint from the ready line and the `exec`
environment from `GET /_emulator/env`, drive faults, events, the clock and the journal, stop it.

Only the standard library: the plugin must not add dependencies to the environment under test.
"""

import json
import os
import queue
import shutil
import subprocess
import sysconfig
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

READY = "vod-emulator ready on "

# Admin calls go straight to the emulator on loopback, never through the proxy variables the
# test's environment holds.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StartError(RuntimeError):
    """The emulator binary could not be found, exited, or printed no ready line in time."""


def find_binary():
    """The `vod-emulator` installed with this package (the environment's scripts directory),
    else the first one on PATH, else None."""
    name = "vod-emulator.exe" if os.name == "nt" else "vod-emulator"
    beside = os.path.join(sysconfig.get_path("scripts"), name)
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which(name)


class Emulator:
    """A running emulator. `secret_id`, `secret_key`, `app_id`, `region` are the account it
    accepts; `env` is what `vod-emulator exec` would give a command."""

    def __init__(self, process, endpoint, env, log_path):
        self.process = process
        self.endpoint = endpoint
        self.env = env
        self.log_path = log_path
        self.secret_id = env["TENCENTCLOUD_SECRET_ID"]
        self.secret_key = env["TENCENTCLOUD_SECRET_KEY"]
        self.app_id = int(env["VOD_EMULATOR_APP_ID"])
        self.region = env["VOD_EMULATOR_REGION"]
        self.ca = env["VOD_EMULATOR_CA"]
        self.faults = Faults(self)
        self.clock = Clock(self)

    @classmethod
    def start(cls, binary=None, data_dir=None, args=(), timeout=30.0):
        """Start `binary` (default: `find_binary()`) on a free loopback port and wait for it.

        Raises StartError, with the emulator's own words, when it cannot start."""
        binary = binary or find_binary()
        if not binary:
            raise StartError(
                "no vod-emulator binary: install the vod-emulator wheel into this environment, "
                "or name one with --vod-emulator-bin"
            )
        command = [binary, "--port", "0"]
        if data_dir:
            command += ["--data-dir", str(data_dir)]
        command += list(args)
        log = tempfile.NamedTemporaryFile(prefix="vod-emulator-", suffix=".log", delete=False)
        try:
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True
            )
        except OSError as err:
            log.close()
            raise StartError(f"cannot run {binary}: {err}") from err
        log.close()
        endpoint = _ready_endpoint(process, timeout)
        if endpoint is None:
            exited = process.poll()
            process.kill()
            process.wait()
            with open(log.name, encoding="utf-8", errors="replace") as f:
                said = f.read().strip()
            what = (
                f"no ready line within {timeout} s"
                if exited is None
                else f"exited with status {exited} before its ready line"
            )
            raise StartError(f"{' '.join(command)}: {what}:\n{said}")
        env = _call(endpoint, "GET", "/_emulator/env")["env"]
        return cls(process, endpoint, env, log.name)

    def stop(self):
        """SIGTERM (graceful), then kill after 10 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def admin(self, method, path, body=None, **query):
        """One admin call: `path` under `/_emulator/`, `query` without the None values; the JSON
        answer (None for 204)."""
        return _call(self.endpoint, method, f"/_emulator/{path}", body, query)

    def reset(self):
        """Fresh state in the same process: no media, events, faults or journal."""
        self.admin("POST", "reset")

    def events(self, **filters):
        """Stored events with their delivery state (`type`, `fileId`, `state`, `subAppId`,
        `after`)."""
        return self.admin("GET", "events", **filters)["events"]

    def wait_event(self, type=None, timeout=10.0, **filters):
        """The first event matching the filters, waiting up to `timeout` seconds; raises
        TimeoutError when none arrives."""
        try:
            return self.admin(
                "GET", "events/wait", type=type, timeoutMs=int(timeout * 1000), **filters
            )["event"]
        except AdminError as err:
            if err.status == 408:
                raise TimeoutError(f"no {type or 'matching'} event within {timeout} s") from err
            raise

    def journal(self, **filters):
        """Journaled requests, oldest first (`service`, `action`, `bucket`, `key`, `status`,
        `error_code`, `faulted`, `rule`, `since`, `limit`)."""
        return self.admin("GET", "requests", **filters)["requests"]


class Faults:
    """Fault rules: `add` takes one rule (dict), a list of rules, or a scenario (dict with
    `rules`, or TOML text); `clear` removes them all."""

    def __init__(self, emulator):
        self._emulator = emulator

    def add(self, rules):
        if isinstance(rules, list):
            rules = {"rules": rules}
        return self._emulator.admin("POST", "faults", rules)["ids"]

    def list(self):
        return self._emulator.admin("GET", "faults")["rules"]

    def clear(self):
        self._emulator.admin("DELETE", "faults")


class Clock:
    """The emulator's clock, which every expiry uses."""

    def __init__(self, emulator):
        self._emulator = emulator

    def now(self):
        return self._emulator.admin("GET", "clock")

    def advance(self, by):
        """Move forward by `by`: seconds (a number) or a duration text such as "2h"."""
        body = {"advance": by} if isinstance(by, str) else {"advance_ms": int(by * 1000)}
        return self._emulator.admin("POST", "clock", body)

    def freeze(self, frozen=True):
        return self._emulator.admin("POST", "clock", {"freeze": frozen})


class AdminError(RuntimeError):
    """The admin API refused a call."""

    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status = status


def _call(endpoint, method, path, body=None, query=None):
    query = {k: _text(v) for k, v in (query or {}).items() if v is not None}
    url = endpoint + path + ("?" + urllib.parse.urlencode(query) if query else "")
    data = None
    if body is not None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with _DIRECT.open(request, timeout=330) as response:
            raw = response.read()
    except urllib.error.HTTPError as err:
        raise AdminError(err.code, err.read().decode(errors="replace")) from None
    return json.loads(raw) if raw else None


def _text(value):
    return str(value).lower() if isinstance(value, bool) else str(value)


def _ready_endpoint(process, timeout):
    """The endpoint of the ready line on the process's stdout, or None if it exits or
    `timeout` passes first. Stdout is drained afterwards so the emulator never blocks on it."""
    lines = queue.Queue()

    def read():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0))
            if line is None:
                process.wait()
                return None
            if line.startswith(READY):
                return line[len(READY):].strip()
    except queue.Empty:
        return None
