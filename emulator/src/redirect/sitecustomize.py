"""vod-emulator's Python shim: makes tencentcloud-sdk-python trust the emulator's local CA.

`vod-emulator exec` and `vod-emulator env` put this file's directory first on PYTHONPATH, so
Python imports it at start-up. It exists for one reason: tencentcloud-sdk-python (and so
vod-python-sdk and tccli) passes `verify=certifi.where()` to requests explicitly, which
REQUESTS_CA_BUNDLE cannot override. The proxy (HTTPS_PROXY) and every other SDK need no shim.

It only acts when VOD_EMULATOR_CA names a file, then hands over to the sitecustomize that
this one shadows, if there is one.
"""

import os
import sys


def _trust_emulator_ca():
    ca = os.environ.get("VOD_EMULATOR_CA", "")
    if not ca or not os.path.isfile(ca):
        return
    try:
        import certifi
    except ImportError:
        return
    certifi.where = lambda: ca


def _chain_shadowed_sitecustomize():
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_trust_emulator_ca()
_chain_shadowed_sitecustomize()
