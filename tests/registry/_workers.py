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
import json, os, sys
from mlopskit.errors import RegistryLookupError
from mlopskit.registry import ModelRegistry

cfg = json.loads(sys.argv[1])
reg = ModelRegistry(cfg["url"], **cfg["storage_options"])
print("ready", flush=True)
i = 0
while True:
    if i:  # an event the parent waits for: iteration i - 1 is complete
        open(os.path.join(cfg["sync"], f"done-{i - 1}"), "w").close()
    mv = reg.register("victim", {"i": i, "pad": "x" * 4000}, tags={"i": str(i)})
    reg.set_alias("victim", "production", mv.version, reason=f"move {i}")
    if i % 3 == 2:
        try:
            reg.archive("victim", mv.version - 1)
        except RegistryLookupError:
            pass
    i += 1
"""

STALL_WORKER = r"""
import json, os, sys, threading
cfg = json.loads(sys.argv[1])
real = getattr(os, cfg["stall"])

def stall(*args, **kwargs):  # the temporary file is written: say so, then hang
    open(cfg["event"], "w").close()
    threading.Event().wait()

setattr(os, cfg["stall"], stall)
if cfg["what"] == "object":
    from mlopskit.versioning import ContentStore
    ContentStore(cfg["url"]).put({"payload": "x" * 1000})
else:
    from mlopskit.registry import ModelRegistry
    ModelRegistry(cfg["url"]).register("m", {"w": 1})
"""
