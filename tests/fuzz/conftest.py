"""The fuzz suite: generated and malformed input against the running system.

Each module starts its own stack (one test per stack, so ``-n 2`` never starts one twice) and
ends by checking the system is still whole: no service process replaced, readiness green.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
