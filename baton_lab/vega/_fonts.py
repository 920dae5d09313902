"""The CJK face for PNG export, registered with vl-convert once, on first export.

vl-convert rasterises text with the fonts it knows; without a CJK face, pattern text such as
"修复测试" comes out as tofu boxes on machines without system CJK fonts. The `mplfonts` package ships
Noto Sans CJK SC; importing it would import matplotlib, so the file is found through its import spec.
Only that one file is linked into a private directory: registering mplfonts' own font directory would
also load five other CJK faces (~100 MB) into every export.
"""

from __future__ import annotations

import atexit
import importlib.util
import shutil
import tempfile
import threading
from pathlib import Path

import vl_convert as vlc

FONT_FILE = "NotoSansCJKsc-Regular.otf"
FAMILY = "Noto Sans CJK SC"

_lock = threading.Lock()
_state: dict[str, Path | None] = {}


def font_path() -> Path | None:
    """The Noto Sans CJK SC file shipped by mplfonts, or None when mplfonts is not installed."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "fonts" / FONT_FILE
    return path if path.is_file() else None


def ensure_registered() -> Path | None:
    """Register the CJK face with vl-convert (once per process); the registered directory, or None
    when the font is unavailable (exports then use whatever fonts the system has)."""
    with _lock:
        if "dir" not in _state:
            _state["dir"] = _register()
        return _state["dir"]


def _register() -> Path | None:
    source = font_path()
    if source is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="baton-lab-fonts-"))
    # vl-convert may read the face lazily, so the directory lives as long as the process.
    atexit.register(shutil.rmtree, folder, True)
    try:
        (folder / FONT_FILE).symlink_to(source)
    except OSError:  # no symlinks (some Windows setups): a 16 MB copy instead
        shutil.copyfile(source, folder / FONT_FILE)
    vlc.register_font_directory(str(folder))
    return folder
