"""pytest bootstrap for the Python model core: makes `import sightline_ldm` work from the repo root."""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
