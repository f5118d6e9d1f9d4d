"""Drive headless Chromium over the DevTools protocol through a pipe (no extra packages).

Chromium started with ``--remote-debugging-pipe`` reads protocol messages from file
descriptor 3 and writes them to descriptor 4, each a JSON text ended by a NUL byte. That
needs no websocket client, no free TCP port and no chromedriver, so the only dependency is
Debian's ``chromium`` package.

Networking is off three ways: every host name resolves to nothing
(``--host-resolver-rules``), all traffic goes to a dead proxy, and the page runs under the
DevTools "offline" network condition. Every request the page tries is still recorded
(``Network.requestWillBeSent``), so a test can assert that none was made.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """Path of a Chromium executable, or None."""
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class ChromiumError(RuntimeError):
    """The browser answered a command with an error, or did not answer in time."""


class Chromium:
    """One headless Chromium with one page, attached over the DevTools pipe.

    Use as a context manager. ``events`` collects every protocol event of the page since the
    last :meth:`open`.
    """

    def __init__(self, executable: str, user_data_dir: Path, width: int = 1280, height: int = 860):
        self.width, self.height = width, height
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        # Move the child's ends above 10 first so the dup2 to 3 and 4 cannot clobber them.
        child_read = _dup_high(to_browser_read)
        child_write = _dup_high(from_browser_write)

        def attach_pipe_fds() -> None:
            os.dup2(child_read, 3)
            os.dup2(child_write, 4)

        command = [
            executable,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--mute-audio",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=http://127.0.0.1:9",
            f"--user-data-dir={user_data_dir}",
            f"--window-size={width},{height}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,  # descriptors 3 and 4 are made in preexec_fn and must survive
            preexec_fn=attach_pipe_fds,
        )
        for fd in (to_browser_read, from_browser_write, child_read, child_write):
            os.close(fd)
        self._next_id = 0
        self._replies: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self.events: list[dict] = []
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self.session = self._attach_page()

    # ------------------------------------------------------------------ protocol plumbing

    def _read_loop(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        reply = self._replies.pop(message["id"], None)
                    if reply is not None:
                        reply.put(message)
                else:
                    self.events.append(message)
                    if message.get("method") == "Page.javascriptDialogOpening":
                        # An alert would block the page forever; dismiss it (the event stays recorded).
                        threading.Thread(
                            target=self.send, args=("Page.handleJavaScriptDialog", {"accept": False}),
                            daemon=True,
                        ).start()

    def send(self, method: str, params: dict | None = None, session: bool = True, timeout: float = 30.0) -> dict:
        """Send one command and wait for its result; raise ChromiumError on error or timeout."""
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            reply: queue.Queue = queue.Queue()
            self._replies[ident] = reply
        message = {"id": ident, "method": method, "params": params or {}}
        if session and getattr(self, "session", None):
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        try:
            answer = reply.get(timeout=timeout)
        except queue.Empty:
            raise ChromiumError(f"{method}: no answer within {timeout} s") from None
        if "error" in answer:
            raise ChromiumError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def _attach_page(self) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            targets = self.send("Target.getTargets", session=False)["targetInfos"]
            pages = [t for t in targets if t["type"] == "page"]
            if pages:
                break
            time.sleep(0.1)
        else:
            raise ChromiumError("Chromium opened no page")
        session = self.send("Target.attachToTarget", {"targetId": pages[0]["targetId"], "flatten": True},
                            session=False)["sessionId"]
        self.session = session
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Network.emulateNetworkConditions",
                  {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})
        return session

    # ------------------------------------------------------------------ page actions

    def open(self, path: Path, timeout: float = 20.0) -> None:
        """Load a local file and wait for its load event; clears recorded events first."""
        self.events.clear()
        self.send("Page.navigate", {"url": Path(path).resolve().as_uri()})
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in list(self.events)):
            if time.monotonic() > deadline:
                raise ChromiumError(f"{path}: no load event within {timeout} s")
            time.sleep(0.05)

    def evaluate(self, expression: str):
        """Value of a JavaScript expression in the page (JSON-serialisable results only)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise ChromiumError(f"{expression[:80]}…: {result['exceptionDetails']}")
        return result["result"].get("value")

    def move_mouse(self, x: float, y: float) -> None:
        """Move the real mouse pointer (fires mouseover/mousemove as a user would)."""
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})

    def click(self, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def screenshot(self, target: Path) -> Path:
        """Save a PNG of the viewport to ``target``."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(data))
        return target

    # ------------------------------------------------------------------ what happened

    def requested_urls(self) -> list[str]:
        """URLs of every request the page started since the last :meth:`open`."""
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries since the last open."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params["exceptionDetails"], ensure_ascii=False)[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(" ".join(str(a.get("value", a.get("description"))) for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(f"{params['entry'].get('text')} {params['entry'].get('url', '')}")
        return found

    def dialogs(self) -> list[str]:
        """Messages of alert/confirm/prompt dialogs the page opened."""
        return [e["params"].get("message", "") for e in self.events if e.get("method") == "Page.javascriptDialogOpening"]

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        try:
            self.send("Browser.close", session=False, timeout=5)
        except (ChromiumError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _dup_high(fd: int) -> int:
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
