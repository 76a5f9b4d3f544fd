"""The one venv both peer scripts run in (benches/peers/.venv, gitignored), made on first use."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
PY = os.path.join(VENV, "bin", "python")
# One venv for both peer scripts, so one list of what it holds.
PINS = ["numpy==1.26.4", "pandas==1.5.3", "scipy==1.11.4", "lifetimes==0.11.3", "polars", "duckdb"]


def ensure_venv(before_exec=None):
    """Re-runs the calling script in the venv, after installing PINS when the venv was made
    with another list (or not at all) and calling `before_exec` (for example a build)."""
    if os.path.abspath(sys.prefix) == os.path.abspath(VENV):
        return
    marker = os.path.join(VENV, "pins.txt")
    if not os.path.exists(PY):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    if not os.path.exists(marker) or open(marker).read() != "\n".join(PINS):
        subprocess.check_call([PY, "-m", "pip", "install", "-q", *PINS])
        with open(marker, "w") as f:
            f.write("\n".join(PINS))
    if before_exec is not None:
        before_exec()
    os.execv(PY, [PY, *sys.argv])
