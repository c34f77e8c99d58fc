"""Recorded NVML answers: replay them as an NVML module (tests, benches, a GPU-less demo) and
record them from a real driver (``python -m timeline_telemetry.collectors.gpu_replay record``).

A recording is a JSON object::

    {"description": "...", "driver": "550.54.14", "source": "recorded" | "composed",
     "devices": [{"name": "NVIDIA GeForce RTX 4090",
                  "answers": {"nvmlDeviceGetUtilizationRates": {"gpu": 87, "memory": 41},
                              "nvmlDeviceGetEncoderUtilization": [92, 167000],
                              "nvmlDeviceGetClockInfo": {"1": 2520, "2": 10501},
                              "nvmlDeviceGetFBCStats": {"error": "NVML_ERROR_NOT_SUPPORTED"},
                              ...}}],
     "process_names": {"4242": "/usr/bin/ffmpeg", "77": {"error": "NVML_ERROR_NOT_FOUND"}},
     "absent": ["nvmlDeviceGetCurrentClocksEventReasons"],
     "editor": {"4100": ["main", "timeline-studio"], "4200": ["child", "ffmpeg"]},
     "render_active": true}

An answer is what the pynvml function returns, as JSON: an object for a struct (read by
attribute), a list for an array (a list of objects for process and session lists), a number;
``nvmlDeviceGetClockInfo`` and ``nvmlDeviceGetTemperature`` are keyed by their second
argument. ``{"error": "NVML_ERROR_<NAME>"}`` raises that ``NVMLError`` (with pynvml's code in
``value``); ``{"error": "NVMLLibraryMismatchError"}`` raises what pynvml raises for an
unversioned call whose ``_v3`` the driver lacks. A function not in ``answers`` answers
``NVML_ERROR_FUNCTION_NOT_FOUND`` (an older driver); one in ``absent`` is missing from the
module itself (older bindings). ``nvmlDeviceGetProcessUtilization`` samples carry
``timeStamp`` in µs relative to the sampling period: each call on a device is one period
(1 s) later, and only samples newer than the caller's ``lastSeenTimeStamp`` come back
(``NVML_ERROR_NOT_FOUND`` when none), as the driver does. ``editor`` and ``render_active``
are not NVML: they are the scene the answers were recorded in (the editor's processes as its
collector saw them, and whether the editor announced a render), for tests.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

__all__ = ["RecordedNvml", "RecordedNvmlError", "load_recording", "record"]

#: pynvml's return codes by name (nvml.h).
ERROR_CODES: dict[str, int] = {
    "NVML_SUCCESS": 0,  # pynvml raises it from nvmlDeviceGetProcessUtilization with no samples
    "NVML_ERROR_UNINITIALIZED": 1,
    "NVML_ERROR_INVALID_ARGUMENT": 2,
    "NVML_ERROR_NOT_SUPPORTED": 3,
    "NVML_ERROR_NO_PERMISSION": 4,
    "NVML_ERROR_NOT_FOUND": 6,
    "NVML_ERROR_INSUFFICIENT_SIZE": 7,
    "NVML_ERROR_DRIVER_NOT_LOADED": 9,
    "NVML_ERROR_TIMEOUT": 10,
    "NVML_ERROR_FUNCTION_NOT_FOUND": 13,
    "NVML_ERROR_GPU_IS_LOST": 15,
    "NVML_ERROR_UNKNOWN": 999,
}
_TEXT = {0: "Success", 3: "Not Supported", 4: "Insufficient Permissions", 6: "Not Found",
         13: "Function Not Found", 15: "GPU is lost", 1: "Uninitialized",
         9: "Driver Not Loaded", 999: "Unknown Error"}
_PERIOD_US = 1_000_000
_MISMATCH = "NVMLLibraryMismatchError"

#: Every per-device function the collector may call, and the argument each is recorded for.
RECORDED_CALLS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("nvmlDeviceGetUtilizationRates", ()),
    ("nvmlDeviceGetMemoryInfo", ()),
    ("nvmlDeviceGetEncoderUtilization", ()),
    ("nvmlDeviceGetDecoderUtilization", ()),
    ("nvmlDeviceGetTemperature", (0,)),
    ("nvmlDeviceGetClockInfo", (1, 2)),
    ("nvmlDeviceGetPowerUsage", ()),
    ("nvmlDeviceGetEnforcedPowerLimit", ()),
    ("nvmlDeviceGetPowerManagementLimit", ()),
    ("nvmlDeviceGetCurrentClocksEventReasons", ()),
    ("nvmlDeviceGetCurrentClocksThrottleReasons", ()),
    ("nvmlDeviceGetComputeRunningProcesses", ()),
    ("nvmlDeviceGetComputeRunningProcesses_v2", ()),
    ("nvmlDeviceGetGraphicsRunningProcesses", ()),
    ("nvmlDeviceGetGraphicsRunningProcesses_v2", ()),
    ("nvmlDeviceGetProcessUtilization", ()),
    ("nvmlDeviceGetEncoderStats", ()),
    ("nvmlDeviceGetEncoderSessions", ()),
    ("nvmlDeviceGetFBCStats", ()),
)
_KEYED = {"nvmlDeviceGetClockInfo", "nvmlDeviceGetTemperature"}


class RecordedNvmlError(Exception):
    """pynvml's ``NVMLError`` as the replay raises it: ``value`` is the return code."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return _TEXT.get(self.value, f"NVML error {self.value}")


class RecordedNvmlLibraryMismatchError(Exception):
    """pynvml's ``NVMLLibraryMismatchError`` (not an ``NVMLError``)."""


class _Raise:
    """A recorded error: raised afresh on every call (re-raising one instance would grow its
    traceback for ever)."""

    __slots__ = ("code", "mismatch", "where")

    def __init__(self, code: int, *, mismatch: bool = False, where: str = "") -> None:
        self.code = code
        self.mismatch = mismatch
        self.where = where

    def error(self) -> Exception:
        if self.mismatch:
            return RecordedNvmlLibraryMismatchError(
                f"{self.where}: unversioned call and the driver lacks its _v3")
        return RecordedNvmlError(self.code)


class _Handle:
    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"<recorded GPU {self.index}>"


def load_recording(path: str | Path) -> dict[str, Any]:
    """A recording file's JSON object."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("devices"), list):
        raise ValueError(f"{path}: not an NVML recording (no devices list)")
    return doc


def _obj(value: Any) -> Any:
    """JSON -> what pynvml returns: objects read by attribute, lists of them."""
    if isinstance(value, dict):
        return SimpleNamespace(**{k: _obj(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_obj(v) for v in value]
    return value


class RecordedNvml:
    """An NVML module replaying a recording (see the module's docstring).

    Answers are converted once, at construction; each call returns the same objects (do not
    mutate them). :meth:`set_answer` changes one answer (a test's next scene), ``calls``
    counts the calls per function name, ``shutdowns`` the ``nvmlShutdown`` calls.
    """

    NVMLError = RecordedNvmlError
    NVMLLibraryMismatchError = RecordedNvmlLibraryMismatchError
    NVML_TEMPERATURE_GPU = 0

    def __init__(self, recording: Mapping[str, Any] | str | Path,
                 *, count_calls: bool = False) -> None:
        doc = load_recording(recording) if isinstance(recording, str | Path) else recording
        self.recording = doc
        self.description = str(doc.get("description", ""))
        self._absent = frozenset(doc.get("absent") or ())
        self._devices: list[dict[str, Any]] = []
        for dev in doc["devices"]:
            self._devices.append({name: self._prepare(name, answer)
                                  for name, answer in (dev.get("answers") or {}).items()})
        self._names = [str(dev.get("name", f"GPU {i}")) for i, dev in enumerate(doc["devices"])]
        self._process_names = {int(pid): self._prepare("name", v)
                               for pid, v in (doc.get("process_names") or {}).items()}
        self._periods = [0] * len(self._devices)
        self.count_calls = count_calls
        self.calls: dict[str, int] = {}
        self.shutdowns = 0
        for code_name, code in ERROR_CODES.items():
            setattr(self, code_name, code)

    @staticmethod
    def _prepare(name: str, answer: Any) -> Any:
        if isinstance(answer, dict) and set(answer) == {"error"}:
            err = str(answer["error"])
            return _Raise(ERROR_CODES.get(err, 999), mismatch=err == _MISMATCH, where=name)
        if name in _KEYED and isinstance(answer, dict):
            return {int(k): RecordedNvml._prepare(name, v) for k, v in answer.items()}
        return _obj(answer)

    # -- a test's next scene ---------------------------------------------------------------
    def set_answer(self, index: int, function: str, answer: Any) -> None:
        """Make device ``index`` answer ``function`` with ``answer`` (JSON as in a file)."""
        self._devices[index][function] = self._prepare(function, answer)

    @property
    def editor_members(self) -> tuple[tuple[int, str, str], ...]:
        """The recording's editor processes as an ``EditorProcessView.members`` tuple."""
        return tuple((int(pid), str(v[0]), str(v[1]))
                     for pid, v in (self.recording.get("editor") or {}).items())

    # -- the module's surface --------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if not name.startswith("nvmlDevice") or name in self._absent:
            raise AttributeError(name)
        return lambda handle, *args: self._answer(name, handle, args)

    def _answer(self, name: str, handle: _Handle, args: tuple[Any, ...]) -> Any:
        if self.count_calls:
            self.calls[name] = self.calls.get(name, 0) + 1
        answers = self._devices[handle.index]
        answer = answers.get(name, _FUNCTION_NOT_FOUND)
        if name in _KEYED and isinstance(answer, dict):
            answer = answer.get(int(args[0]), _NOT_SUPPORTED)
        if isinstance(answer, _Raise):
            raise answer.error()
        if name == "nvmlDeviceGetProcessUtilization":
            return self._samples(handle.index, answer, int(args[0]))
        return answer

    def _samples(self, index: int, samples: Sequence[Any], last_seen: int) -> list[Any]:
        self._periods[index] += 1
        base = self._periods[index] * _PERIOD_US
        fresh = [SimpleNamespace(pid=s.pid, timeStamp=base + int(s.timeStamp),
                                 smUtil=s.smUtil, memUtil=getattr(s, "memUtil", 0),
                                 encUtil=s.encUtil, decUtil=s.decUtil)
                 for s in samples if base + int(s.timeStamp) > last_seen]
        if not fresh:
            raise RecordedNvmlError(ERROR_CODES["NVML_ERROR_NOT_FOUND"])
        return fresh

    def nvmlInit(self) -> None:
        """Nothing to start."""

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self._devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> _Handle:
        if not 0 <= index < len(self._devices):
            raise RecordedNvmlError(ERROR_CODES["NVML_ERROR_INVALID_ARGUMENT"])
        return _Handle(index)

    def nvmlDeviceGetName(self, handle: _Handle) -> str:
        return self._names[handle.index]

    def nvmlSystemGetProcessName(self, pid: int) -> Any:
        if self.count_calls:
            self.calls["nvmlSystemGetProcessName"] = (
                self.calls.get("nvmlSystemGetProcessName", 0) + 1)
        name = self._process_names.get(int(pid), _NOT_FOUND)
        if isinstance(name, _Raise):
            raise name.error()
        return name.encode() if isinstance(name, str) else name


_FUNCTION_NOT_FOUND = _Raise(ERROR_CODES["NVML_ERROR_FUNCTION_NOT_FOUND"])
_NOT_SUPPORTED = _Raise(ERROR_CODES["NVML_ERROR_NOT_SUPPORTED"])
_NOT_FOUND = _Raise(ERROR_CODES["NVML_ERROR_NOT_FOUND"])


# -- recording from a real driver -----------------------------------------------------------
def _plain(value: Any) -> Any:
    """pynvml's answer -> JSON (ctypes structures by their fields, bytes as text)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    fields = getattr(value, "_fields_", None)
    if fields is not None:
        return {f[0]: _plain(getattr(value, f[0])) for f in fields}
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return {k: _plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return value


def _error_name(nvml: Any, exc: BaseException) -> str:
    if type(exc).__name__ == _MISMATCH:
        return _MISMATCH
    code = getattr(exc, "value", None)
    for name, default in ERROR_CODES.items():
        if getattr(nvml, name, default) == code:
            return name
    return "NVML_ERROR_UNKNOWN"


def record(nvml: Any, *, description: str = "",
           extra_pids: Iterable[int] = ()) -> dict[str, Any]:
    """Ask ``nvml`` (an initialised pynvml) everything the collector asks, once, and return
    it as a recording. Process utilisation samples are stored relative to the newest one."""
    def ask(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return _plain(fn(*args))
        except Exception as exc:
            return {"error": _error_name(nvml, exc)}

    devices: list[dict[str, Any]] = []
    pids: set[int] = set(extra_pids)
    for i in range(int(nvml.nvmlDeviceGetCount())):
        handle = nvml.nvmlDeviceGetHandleByIndex(i)
        name = _plain(nvml.nvmlDeviceGetName(handle))
        answers: dict[str, Any] = {}
        for fn_name, keys in RECORDED_CALLS:
            fn = getattr(nvml, fn_name, None)
            if fn is None:
                continue
            if fn_name in _KEYED:
                answers[fn_name] = {str(k): ask(fn, handle, k) for k in keys}
            elif fn_name == "nvmlDeviceGetProcessUtilization":
                got = ask(fn, handle, 0)
                if isinstance(got, list) and got:
                    newest = max(int(s["timeStamp"]) for s in got)
                    for s in got:
                        s["timeStamp"] = int(s["timeStamp"]) - newest
                answers[fn_name] = got
            else:
                answers[fn_name] = ask(fn, handle)
        for got in answers.values():
            if isinstance(got, list):
                pids.update(int(p["pid"]) for p in got if isinstance(p, dict) and "pid" in p)
        devices.append({"name": name, "answers": answers})
    names = {str(pid): ask(nvml.nvmlSystemGetProcessName, pid) for pid in sorted(pids)}
    driver = ask(nvml.nvmlSystemGetDriverVersion) if hasattr(
        nvml, "nvmlSystemGetDriverVersion") else None
    return {"description": description, "source": "recorded", "driver": driver,
            "devices": devices, "process_names": names}


def main(argv: Sequence[str] | None = None) -> int:
    """``record OUT.json [--description TEXT] [--editor PID:ROLE:NAME ...] [--render]``:
    record this machine's NVML answers (and, for tests, the scene: which pids were the
    editor's, whether it announced a render)."""
    ap = argparse.ArgumentParser(prog="python -m timeline_telemetry.collectors.gpu_replay")
    sub = ap.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="record this machine's NVML answers to a JSON file")
    rec.add_argument("out", type=Path)
    rec.add_argument("--description", default="")
    rec.add_argument("--editor", action="append", default=[], metavar="PID:ROLE:NAME",
                     help="an editor process in the scene (role main or child), repeatable")
    rec.add_argument("--render", action="store_true", help="the editor announced a render")
    args = ap.parse_args(argv)
    editor: dict[str, list[str]] = {}
    for item in args.editor:
        pid, role, name = item.split(":", 2)
        if role not in ("main", "child"):
            ap.error(f"--editor {item}: the role is main or child")
        editor[str(int(pid))] = [role, name]
    import pynvml

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        print(f"cannot start NVML: {exc}", file=sys.stderr)
        return 1
    try:
        doc = record(pynvml, description=args.description,
                     extra_pids=[int(p) for p in editor])
    finally:
        pynvml.nvmlShutdown()
    if editor:
        doc["editor"] = editor
    doc["render_active"] = args.render
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(doc['devices'])} device(s), driver {doc['driver']}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
