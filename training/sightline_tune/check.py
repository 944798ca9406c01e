"""``python -m sightline_tune.check [--device cuda]``: can this interpreter tune? One JSON object on stdout, exit 0.

    {"python": sys.executable, "python_version": "3.11.2", "torch": "2.1.0" | null,
     "cuda": torch.version.cuda when torch.cuda.is_available() else null,
     "devices": [{"index": 0, "name": "NVIDIA H200", "memory_mib": 143771}],
     "modules": {"numpy": "1.26.4" | null, "PIL": "10.2.0" | null, "pydicom": "2.4.4" | null},
     "problem": null | "words: what is missing and how to install it"}

``problem`` names what train.py needs and cannot import (torch, numpy, Pillow), or, with ``--device cuda``, that
torch sees no CUDA device. pydicom is reported but optional (only DICOM images need it). The exit status is 0 whatever
is found (2 only for bad arguments): the app reads ``problem``. Only the modules checked are imported.
"""
from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
from typing import Dict, List, Optional, Sequence

INSTALL = {"torch": "torch (https://pytorch.org/get-started/locally/)", "numpy": "numpy", "PIL": "Pillow"}


def _version(name: str) -> Optional[str]:
    """The module's version, or None when it does not import (whatever the error: a broken install counts too)."""
    try:
        mod = importlib.import_module(name)
    except Exception:  # noqa: BLE001 - an ImportError, or a broken package raising anything at import
        return None
    return str(getattr(mod, "__version__", "") or "unknown")


def check(device: str = "cpu") -> dict:
    py = sys.executable or "python"
    modules: Dict[str, Optional[str]] = {n: _version(n) for n in ("numpy", "PIL", "pydicom")}
    torch_version = _version("torch")
    cuda, devices = None, []  # type: Optional[str], List[dict]
    problems = []
    if torch_version is None:
        problems.append(f"torch is not installed for {py}: install {INSTALL['torch']} into that interpreter "
                        f"(e.g. {py} -m pip install torch), or choose another Python")
    else:
        import torch
        try:
            if torch.cuda.is_available():
                cuda = torch.version.cuda
                for i in range(torch.cuda.device_count()):
                    p = torch.cuda.get_device_properties(i)
                    devices.append({"index": i, "name": p.name, "memory_mib": int(p.total_memory // 2 ** 20)})
        except Exception as e:  # noqa: BLE001 - a broken driver must not hide the rest of the report
            problems.append(f"torch could not query CUDA: {e}")
        if device == "cuda" and not devices:
            problems.append(f"--device cuda: torch {torch_version} at {py} sees no CUDA device "
                            f"({'built without CUDA' if not torch.version.cuda else 'no GPU or driver visible'})")
    missing = [n for n in ("numpy", "PIL") if modules[n] is None]
    if missing:
        problems.append(f"{' and '.join(INSTALL[n] for n in missing)} {'is' if len(missing) == 1 else 'are'} not "
                        f"installed for {py}: {py} -m pip install {' '.join(INSTALL[n] for n in missing)}")
    return {"python": py, "python_version": platform.python_version(), "torch": torch_version, "cuda": cuda,
            "devices": devices, "modules": modules, "problem": "; ".join(problems) or None}


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sightline_tune.check", description=__doc__.split("\n")[0])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cuda: a CUDA device is required")
    args = ap.parse_args(argv)
    print(json.dumps(check(args.device)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
