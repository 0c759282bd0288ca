"""Output files are written atomically (perpass.files): a `perpass card` killed at any moment leaves
each card and plot whole or absent, never a 0-byte or truncated file under its real name."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import PERPASS_CMD

from perpass import files
from perpass.analysis.synthetic import StoreBuilder

PNG_END = b"IEND\xaeB`\x82"
# A stand-in for SIGKILL arriving mid-write, at a chosen plot: the process writes a few bytes of the
# PNG where Pillow was told to, then kills itself (no Python cleanup can run, as with a real kill).
DIE_MID_SAVE = """
import os, signal
from PIL import Image
_save, _calls = Image.Image.save, [0]
def save(self, fp, *args, **kwargs):
    _calls[0] += 1
    if _calls[0] == int(os.environ["DIE_AT_SAVE"]):
        if hasattr(fp, "write"):
            fp.write(b"\\x89PNG half")
            fp.flush()
        else:
            with open(fp, "wb") as handle:
                handle.write(b"\\x89PNG half")
        os.kill(os.getpid(), signal.SIGKILL)
    return _save(self, fp, *args, **kwargs)
Image.Image.save = save
"""


def many_cards(db: Path, models: int = 4) -> None:
    with StoreBuilder(db) as b:
        for m in range(models):
            for variant in ("baseline", "temperature=0.7"):
                cell = b.route(f"m{m}/{variant}", prices={"input": 1.0 + m, "output": 2.0},
                               factor=None if variant == "baseline" else "temperature", level=0.7)
                for t in range(4):
                    for r in range(3):
                        b.episode(cell, f"t{t}", repeat=r, passed=(t + r + m) % 3 > 0,
                                  calls=[(1000 + 10 * m, 0, 100, 0, 0.5)])


def whole(path: Path) -> bool:
    data = path.read_bytes()
    if path.suffix == ".png":
        return data.startswith(b"\x89PNG") and data.endswith(PNG_END)
    if path.suffix == ".html":
        return data.rstrip().endswith(b"</html>")
    return len(data) > 0


@pytest.mark.slow
@pytest.mark.parametrize("die_at", [1, 4, 7])
def test_card_killed_mid_write_leaves_only_whole_files(tmp_path: Path, die_at: int) -> None:
    many_cards(tmp_path / "runs" / "perpass.db")
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(DIE_MID_SAVE)
    env = {**os.environ, "DIE_AT_SAVE": str(die_at),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))}
    out = tmp_path / "cards"
    proc = subprocess.run([*PERPASS_CMD, "card", "--store", str(tmp_path / "runs"), "--out", str(out),
                           "--boot", "100"], env=env, capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    shown = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert len([n for n in shown if n.endswith(".png")]) == die_at - 1  # the plots before the kill
    assert [n for n in shown if not whole(out / n)] == [], "a kill left a partial file under its real name"
    again = subprocess.run([*PERPASS_CMD, "card", "--store", str(tmp_path / "runs"), "--out", str(out),
                            "--boot", "100"], capture_output=True, timeout=300)
    assert again.returncode == 0 and all(whole(p) for p in out.iterdir() if not p.name.startswith("."))


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = files.write_text(tmp_path / "decision.json", "old\n")
    with pytest.raises(RuntimeError), files.atomic_path(target) as tmp:
        tmp.write_text("half of the ne")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["decision.json"]
    files.write_text(target, "new\n")
    assert target.read_text() == "new\n" and sorted(p.name for p in tmp_path.iterdir()) == ["decision.json"]
