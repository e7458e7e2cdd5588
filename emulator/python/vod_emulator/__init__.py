"""vod-emulator for Python: the emulator binary (installed on PATH by this wheel) and a pytest
plugin (`vod_emulator.plugin`, loaded through the `pytest11` entry point) that runs one emulator
per test session.

`Emulator` starts and drives an emulator outside pytest too.
"""

from vod_emulator.emulator import Emulator, StartError

__all__ = ["Emulator", "StartError"]
