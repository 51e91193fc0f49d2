"""Worker scripts the concurrency and crash tests run in fresh interpreters.

They run as ``python -c`` subprocesses (not ``multiprocessing``), so nothing is
pickled, nothing is forked from a process with threads, and each worker is a real,
independent writer, as on separate machines.
"""

from __future__ import annotations

REGISTER_WORKER = r"""
import json, os, sys, time
from mlopskit.registry import ModelRegistry

cfg = json.loads(sys.argv[1])
reg = ModelRegistry(cfg["url"], **cfg["storage_options"])
open(os.path.join(cfg["sync"], f"ready-{cfg['worker']}"), "w").close()
while not os.path.exists(os.path.join(cfg["sync"], "go")):
    time.sleep(0.002)
versions = []
for i in range(cfg["n"]):
    mv = reg.register(
        "shared", {"worker": cfg["worker"], "i": i},
        tags={"worker": str(cfg["worker"]), "i": str(i)},
    )
    versions.append(mv.version)
print(json.dumps(versions))
"""

CRASH_WORKER = r"""
import json, sys
from mlopskit.errors import RegistryLookupError
from mlopskit.registry import ModelRegistry

cfg = json.loads(sys.argv[1])
reg = ModelRegistry(cfg["url"], **cfg["storage_options"])
print("ready", flush=True)
i = 0
while True:
    mv = reg.register("victim", {"i": i, "pad": "x" * 4000}, tags={"i": str(i)})
    reg.set_alias("victim", "production", mv.version, reason=f"move {i}")
    if i % 3 == 2:
        try:
            reg.archive("victim", mv.version - 1)
        except RegistryLookupError:
            pass
    i += 1
"""
