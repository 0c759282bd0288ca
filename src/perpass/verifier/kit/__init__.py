"""The verifier kit: stdlib-only scripts that run INSIDE the verifier session (bound read-only at
/opt/perpass-kit). Entry scripts: materialise.py, scan.py, run_tests.py; their shared code is the
`perpass_kit` package beside them. The host imports `perpass_kit` only for the record format."""

from pathlib import Path

KIT_DIR = Path(__file__).resolve().parent
