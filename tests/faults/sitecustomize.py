"""Fault injection for the end-to-end tests (never on the path of a real build).

With ONPOLICY_TEST_FAULT="ERRNO:SUBSTRING" (e.g. "ENOSPC:public.tmp-"), every write to a
file whose path contains SUBSTRING fails with that errno, the way a full disk fails: the file
opens, its first write raises. Directories whose path contains it cannot be created (a
read-only location). tests/badinput.py puts this directory on PYTHONPATH for such builds.
"""
import builtins
import errno
import io
import os

_FAULT = os.environ.get("ONPOLICY_TEST_FAULT", "")

if _FAULT:
    _code_name, _, _where = _FAULT.partition(":")
    _code = getattr(errno, _code_name)

    def _error(path=None) -> OSError:
        return OSError(_code, os.strerror(_code), *([path] if path is not None else []))

    class _FailingFile:
        """A file whose writes fail (ENOSPC is reported by write(), not by open())."""

        def __init__(self, inner):
            self._inner = inner

        def write(self, *args, **kwargs):
            raise _error()

        def writelines(self, *args, **kwargs):
            raise _error()

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._inner.close()

        def __iter__(self):
            return iter(self._inner)

    def _writing(mode) -> bool:
        return any(c in str(mode) for c in "wax+")

    def _hit(path) -> bool:
        return _where in os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) \
            else False

    _open, _fdopen, _mkdir = io.open, os.fdopen, os.mkdir

    _REFUSED = _code in (errno.EACCES, errno.EROFS, errno.EPERM)  # fails at open, not write

    def _patched_open(file, mode="r", *args, **kwargs):
        if _REFUSED and _writing(mode) and _hit(file):
            raise _error(os.fsdecode(file))
        handle = _open(file, mode, *args, **kwargs)
        return _FailingFile(handle) if _writing(mode) and _hit(file) else handle

    def _patched_fdopen(fd, mode="r", *args, **kwargs):
        handle = _fdopen(fd, mode, *args, **kwargs)
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return handle
        return _FailingFile(handle) if _writing(mode) and _hit(path) else handle

    def _patched_mkdir(path, *args, **kwargs):
        if _REFUSED and _hit(path):
            raise _error(os.fsdecode(path))
        return _mkdir(path, *args, **kwargs)

    io.open = builtins.open = _patched_open
    os.fdopen = _patched_fdopen
    os.mkdir = _patched_mkdir
