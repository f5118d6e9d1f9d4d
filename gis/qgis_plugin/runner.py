"""Run the ``gis`` command for an algorithm: its lines to the Processing log and progress bar,
cancel stops it, its one-line error becomes the algorithm's error."""

import os
import queue
import re
import subprocess
import threading

from qgis.core import QgsProcessingException

from .provider import gis_command

#: ``[12:00:01] message``: a stage line of the gis command (stderr).
_STAGE = re.compile(r"^\[\d\d:\d\d:\d\d\] ")
#: A percentage some stages print (chunked classification, tiles).
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?) ?%")
#: How click prints a GisError (exit status 2).
_ERROR = "Error: "


def _environment():
    """QGIS's environment without its Python's paths, so the user's own Python runs clean."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONUTF8"] = "1"
    return env


def run_gis(arguments, feedback, expected_stages=8):
    """Run ``gis ARGUMENTS``; return its output lines (stdout and stderr, in order).

    Every line goes to ``feedback`` (the Processing log); a stage line moves the progress bar a
    step (``expected_stages`` of them reach about 90 %), a percentage sets it. Cancelling
    terminates the process. A non-zero exit raises :class:`QgsProcessingException` with the
    command's ``Error:`` line (a GisError: what was wrong with the input), else its last lines.
    """
    command = gis_command()
    if command is None:
        raise QgsProcessingException(
            "gis command not found: pip install gis-urban-rural in a Python environment and put its gis on PATH, "
            "or set its path in Settings → Options → Processing → Providers → 城乡融合 / Urban-rural"
        )
    arguments = [str(a) for a in arguments]
    feedback.pushCommandInfo(" ".join([command] + arguments))
    process = subprocess.Popen(
        [command] + arguments, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env=_environment(), bufsize=1, text=True, encoding="utf-8", errors="replace",
    )
    lines = queue.Queue()

    def read():
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    seen, stages = [], 0
    while True:
        if feedback.isCanceled():
            process.terminate()  # gis cleans up its partial files on SIGTERM
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()
            raise QgsProcessingException("cancelled: the gis command was stopped")
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if line.startswith(_ERROR):
            feedback.reportError(line[len(_ERROR):])
            continue
        feedback.pushInfo(line)
        percent = _PERCENT.search(line)
        if percent and float(percent.group(1)) <= 100 and not _STAGE.match(line):
            feedback.setProgress(float(percent.group(1)))
        elif _STAGE.match(line):
            stages += 1
            feedback.setProgress(min(95.0, 90.0 * stages / max(expected_stages, 1)))
    status = process.wait()
    process.stdout.close()
    if status != 0:
        errors = [line[len(_ERROR):] for line in seen if line.startswith(_ERROR)]
        raise QgsProcessingException(errors[-1] if errors else f"gis exited with status {status}: " + " | ".join(seen[-3:]))
    feedback.setProgress(100)
    return seen


def written(lines, suffix):
    """Paths the command said it wrote (``wrote PATH (… MB)``) ending with ``suffix``."""
    found = []
    for line in lines:
        match = re.match(r"^wrote (.+) \([\d.]+ MB\)$", line)
        if match and match.group(1).lower().endswith(suffix):
            found.append(match.group(1))
    return found
