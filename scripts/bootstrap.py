"""For `make run`: apply every example definition straight to the local store
(no token needed) and print how to get an API token. Re-running is harmless:
unchanged definitions are left as they are."""

import sys
from pathlib import Path

from bastion.app import build
from bastion.audit import Actor
from bastion.automations.loader import load_definition
from bastion.settings import Settings

services = build(Settings())
for path in sorted(Path(sys.argv[1]).glob("*.yaml")):
    defn = load_definition(path.read_text(), str(path))
    result = services.automations.apply(defn, Actor("cli", None, "make-run"))
    print(f"{path.name}: {result.outcome} (version {result.version})")
print("API token for the tour: bastion token create --name me --scopes '*'")
