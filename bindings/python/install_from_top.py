"""PEP 517 hooks of bindings/python/pyproject.toml: they refuse, naming the right command.

The package in this folder is pure Python over ctypes and needs the C library
libchurn.so.1, which only the meson project at the top of the source tree builds.
``pip install ./bindings/python`` would install a package without its library, so
every hook stops with a message that names the command that works. Not part of the
installed package.
"""
import os

_TOP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

MESSAGE = (
    "bindings/python holds only the Python sources of libchurn; the package needs the C "
    "library libchurn.so.1, which is built from the top of the source tree. Install "
    "from there instead:\n"
    f"    cd {_TOP}\n"
    "    pip install --no-build-isolation .\n"
    "(or 'meson install -C build', which installs the library and the package together; "
    "see docs/python.md, 'Install')")


def _refuse(*args, **kwargs):
    raise SystemExit("error: " + MESSAGE)


get_requires_for_build_wheel = _refuse
get_requires_for_build_sdist = _refuse
get_requires_for_build_editable = _refuse
prepare_metadata_for_build_wheel = _refuse
prepare_metadata_for_build_editable = _refuse
build_wheel = _refuse
build_sdist = _refuse
build_editable = _refuse
