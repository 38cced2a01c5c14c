"""The candidate's side of code evidence, and the plain-data wire format (stdlib only).

Shipped compiled, like ``_harness.py``: process B runs both in one namespace no code can reach.
For ``code.passes`` the candidate process C, a fork of B made before B read the tests, runs
``candidate_main``. The parent uses ``decode`` for the values the harness reports. Only plain
data crosses between processes: exact ``None``, bool, int, float, complex, str, bytes, list,
tuple, set, frozenset and dict, no subclass (so no foreign ``__eq__``), at most 64 MiB and 100
levels deep; decoding builds nothing else, whatever the bytes.
"""
import builtins
import os
import sys

__all__ = ["candidate_main", "encode", "decode", "Unsupported", "EXIT_MEMORY"]

EXIT_MEMORY = 120  # = _boot.EXIT_MEMORY: the status core.py reads as "memory limit"
_FRAME_CAP = 64 << 20  # the largest message either side accepts
_MAX_DEPTH = 100
# Bound now, before any untrusted code runs: in the shared harness the code runs in our process,
# and the harness's last steps must not look up anything it could have replaced (a module
# attribute); builtins come from the snapshot _boot gives the harness.
_write, _read, _exit, _close, _getpid, _open = os.write, os.read, os._exit, os.close, os.getpid, os.open


class Unsupported(Exception):
    """A value the plain-data encoding does not carry (functions, custom objects, subclasses)."""


class _Malformed(Exception):
    """Bytes that do not decode as plain data."""


# -- plain data: None, bool, int, float, complex, str, bytes, list, tuple, set, frozenset, dict ------

_SEQUENCE_TAGS = {list: b"l", tuple: b"t", set: b"S", frozenset: b"z"}
_SEQUENCE_TYPES = {tag: kind for kind, tag in _SEQUENCE_TAGS.items()}


def encode(value) -> bytes:
    """Plain data -> bytes. Exact builtin types only (no subclass, so no foreign ``__eq__``)."""
    out = []
    _encode(value, out, 0)
    return b"".join(out)


def _encode(value, out, depth):
    if depth > _MAX_DEPTH:
        raise Unsupported(f"data nested deeper than {_MAX_DEPTH}")
    kind = type(value)
    if value is None or value is True or value is False:
        out.append({None: b"N", True: b"T", False: b"F"}[value])
    elif kind is int:
        out.append(b"i%x;" % value)
    elif kind is float:
        out.append(b"f" + float.hex(value).encode() + b";")
    elif kind is complex:
        out.append(b"c" + float.hex(value.real).encode() + b";" + float.hex(value.imag).encode() + b";")
    elif kind is str or kind is bytes:
        data = value.encode("utf-8", "surrogatepass") if kind is str else value
        out.append(b"%s%d:" % (b"s" if kind is str else b"b", len(data)))
        out.append(data)
    elif kind in _SEQUENCE_TAGS:
        out.append(b"%s%d:" % (_SEQUENCE_TAGS[kind], len(value)))
        for item in value:
            _encode(item, out, depth + 1)
    elif kind is dict:
        out.append(b"d%d:" % len(value))
        for key, item in value.items():
            _encode(key, out, depth + 1)
            _encode(item, out, depth + 1)
    else:
        raise Unsupported(f"a {kind.__name__} is not plain data")


def decode(data: bytes):
    """bytes -> plain data; anything malformed raises ``ValueError`` (never builds another type)."""
    try:
        value, end = _decode(data, 0, 0)
        if end != len(data):
            raise _Malformed("trailing bytes")
        return value
    except (_Malformed, ValueError, TypeError, IndexError, OverflowError, RecursionError, MemoryError) as exc:
        raise ValueError(f"malformed plain data: {type(exc).__name__}: {exc}") from None


def _field(data, pos, stop):
    end = data.index(stop, pos)
    return data[pos:end].decode("ascii"), end + 1


_CONSTANTS = {b"N": None, b"T": True, b"F": False}
_NUMBERS = {b"i": lambda text: int(text, 16), b"f": float.fromhex}


def _decode(data, pos, depth):
    if depth > _MAX_DEPTH:
        raise _Malformed("nested too deep")
    tag, pos = data[pos:pos + 1], pos + 1
    if tag in _CONSTANTS:
        return _CONSTANTS[tag], pos
    if tag in _NUMBERS:
        text, pos = _field(data, pos, b";")
        return _NUMBERS[tag](text), pos
    if tag == b"c":
        real, pos = _field(data, pos, b";")
        imag, pos = _field(data, pos, b";")
        return complex(float.fromhex(real), float.fromhex(imag)), pos
    count, pos = _field(data, pos, b":")
    count = int(count)
    if count < 0 or count > len(data) - pos:
        raise _Malformed("bad length")
    if tag in (b"s", b"b"):
        raw = data[pos:pos + count]
        return (raw.decode("utf-8", "surrogatepass") if tag == b"s" else raw), pos + count
    return _decode_container(tag, count, data, pos, depth)


def _decode_container(tag, count, data, pos, depth):
    kind = dict if tag == b"d" else _SEQUENCE_TYPES.get(tag)
    if kind is None:
        raise _Malformed(f"unknown tag {tag!r}")
    items = []
    for _ in range(2 * count if kind is dict else count):  # a dict: key, value, key, value...
        item, pos = _decode(data, pos, depth + 1)
        items.append(item)
    if kind is dict:
        return dict(zip(items[::2], items[1::2])), pos
    return (items if kind is list else kind(items)), pos


# -- framing over pipes ------------------------------------------------------------------------------


def _send(fd, payload: bytes) -> None:
    view = memoryview(len(payload).to_bytes(8, "big") + payload)
    while view:
        view = view[_write(fd, view):]


def _read_exactly(fd, n) -> bytes:
    chunks, left = [], n
    while left:
        chunk = _read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive(fd, cap=_FRAME_CAP) -> bytes:
    size = int.from_bytes(_read_exactly(fd, 8), "big")
    if size > cap:
        raise ValueError(f"a message of {size} bytes (at most {cap})")
    return _read_exactly(fd, size)


def candidate_main(rfd, wfd):
    """In C: read the candidate's program and entry point from ``rfd``, run it, then serve calls."""
    sys.argv = ["<sandbox>"]
    program, entry_point = decode(_receive(rfd))
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(program, "<candidate>", "exec"), namespace)
    except SystemExit as exc:
        _flush()
        _exit(_exit_status(exc))
    except BaseException as exc:  # the candidate's code does not load: a failure, with its traceback
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__)
        _flush()
        _send(wfd, encode(["load_error", _one_line(exc)]))
        _exit(1)
    _serve(namespace.get(entry_point), rfd, wfd)


def _serve(function, rfd, wfd):
    _send(wfd, encode(["ready", callable(function)]))
    while True:
        try:
            args, kwargs = decode(_receive(rfd))
        except EOFError:
            _flush()
            _exit(0)
        try:
            reply = encode(["ok", function(*args, **kwargs)])
        except SystemExit as exc:
            _flush()
            _exit(_exit_status(exc))
        except Unsupported as exc:
            reply = encode(["raise", "TypeError", f"the candidate returned data the tests cannot receive: {exc}"])
        except BaseException as exc:
            reply = encode(["raise", type(exc).__name__, _message(exc)])
        _send(wfd, reply)


def _exit_status(exc):
    code = exc.code
    if code is None or isinstance(code, int):
        return (code or 0) & 0xFF
    print(code, file=sys.stderr)
    return 1


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _message(exc):
    try:
        return str(exc)[:2000]
    except BaseException:  # the candidate's own __str__
        return ""


def _one_line(exc):
    return f"{type(exc).__name__}: {_message(exc)}".splitlines()[0][:500] if _message(exc) else type(exc).__name__


