"""Hatch build hook: the shipped knowledge base's index goes into the wheel, so a new user's first
start answers at once instead of building it (seconds) with a blank screen.

For a wheel, the index is keyed as the installed package keys it (its version only); for an
editable install (`pip install -e .`, what `make chat` does) it is written into the source tree,
keyed by the checkout's code, as the running checkout will look it up.  The build needs the
package's own dependencies (pyproject's build-system requires them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class ShipIndex(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("OVERDUE_BOT_NO_INDEX"):
            return
        root = Path(self.root)
        editable = version == "editable"
        if editable:
            out = root / "src" / "overdue_bot" / "_index"
        else:  # the wheel takes the files from here; finalize() removes it once the wheel is written
            self._scratch = tempfile.mkdtemp(prefix="overdue-bot-wheel-index-")
            out = Path(self._scratch) / "_index"
        if editable and out.exists():
            shutil.rmtree(out)
        # the source tree is put first on sys.path by the child itself: pip's isolated build
        # environment passes its own packages (PyYAML, jieba …) through PYTHONPATH and a
        # sitecustomize that drops whatever an earlier editable install added, src included
        env = dict(os.environ)
        if not editable:
            env["OVERDUE_BOT_RELEASE"] = "1"
        run = "import sys; sys.path.insert(0, sys.argv[1]); from overdue_bot._ship import main; sys.exit(main(sys.argv[2:]))"
        result = subprocess.run(
            [sys.executable, "-c", run, str(root / "src"), str(out)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:  # no index is slower, not broken: the first start builds it
            self.app.display_warning(f"overdue-bot: the index was not built ({result.stderr.strip()[-300:]})")
            return
        if not editable:
            build_data["force_include"][str(out)] = "overdue_bot/_index"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Remove the index's scratch folder: the wheel holds the files now."""
        scratch = getattr(self, "_scratch", None)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
