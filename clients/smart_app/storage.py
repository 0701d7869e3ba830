"""The app's local state on the device: accepted terms version, language and — while logged
in — the refresh token. One JSON file, mode 0600, rewritten atomically. Standard library only."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

APP_DIR = "customer-space-smart-app"


def default_state_path() -> Path:
    """``$XDG_STATE_HOME/customer-space-smart-app/state.json`` (XDG Base Directory: state
    that survives restarts but is not worth backing up), ``~/.local/state/…`` by default."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / APP_DIR / "state.json"


class LocalState:
    """A small key/value store persisted after every change."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._data: dict[str, Any] = self._read()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            # A damaged file must not brick the app: start over (terms asked again, logged out).
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str, default: Any = None) -> Any:
        """The stored value of ``key``."""
        return self._data.get(key, default)

    def update(self, **values: Any) -> None:
        """Set (``None`` removes) the given keys and write the file."""
        for key, value in values.items():
            if value is None:
                self._data.pop(key, None)
            else:
                self._data[key] = value
        self._write()

    def _write(self) -> None:
        # A refresh token is a credential: the directory is private, the file is created 0600
        # before anything is written into it, and os.replace swaps it in atomically, so a crash
        # leaves either the old token or the new one — never half a file, never none.
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self._data, handle, indent=2, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
