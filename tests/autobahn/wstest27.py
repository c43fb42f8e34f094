# Launches Autobahn's `wstest` (Python 2.7 only) from the folder that
# scripts/install-test-deps.sh installs it into, outside the clone, so neither the repository
# nor the interpreter's own site-packages hold it. `addsitedir` (not sys.path) so the folder's
# .pth files load: zope.interface is a namespace package and needs one.
#
# Usage: python2.7 wstest27.py -m fuzzingclient -s SPEC   (any wstest arguments)
# The folder: $PORCH_AUTOBAHN_DIR, else ~/.cache/porch-autobahn.
import os
import site
import sys

folder = os.environ.get("PORCH_AUTOBAHN_DIR") or os.path.expanduser("~/.cache/porch-autobahn")
if not os.path.isdir(os.path.join(folder, "autobahntestsuite")):
    sys.stderr.write("wstest27: no autobahntestsuite in %s; run scripts/install-test-deps.sh\n" % folder)
    sys.exit(2)
site.addsitedir(folder)

from autobahntestsuite.wstest import run  # noqa: E402 (needs the site dir first)

sys.exit(run())
