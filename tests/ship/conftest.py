"""tests/ship: the artifacts operators deploy (container image, Debian package, compose file,
Kubernetes manifests, systemd unit), built and exercised. The Python e2e harness
(tests/python/porch_harness.py) drives the server inside them, as a customer's backend would."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
