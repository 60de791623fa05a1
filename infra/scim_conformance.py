"""Runs scim2-tester (python-scim's generic RFC 7643/7644 conformance suite, not written by this
project) against one organization's SCIM base URL of a running stack.

Usage: SCIM_TOKEN=… scim_conformance.py BASE_URL
Prints one line per check; exits 1 if any check ended ERROR or CRITICAL (a MUST violated),
0 otherwise. DEVIATION (a SHOULD not followed) is printed but does not fail the run.
Started by tests/integration/scim_conformance.rs (through infra/test's SSO_PYTHON).
"""

import os
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

FAILING = {Status.ERROR, Status.CRITICAL}


def main() -> int:
    base_url, token = sys.argv[1], os.environ["SCIM_TOKEN"]
    http = Client(
        base_url=base_url.rstrip("/") + "/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    scim = SyncSCIMClient(http)
    results = check_server(scim)
    failed = 0
    for r in results:
        mark = "FAIL" if r.status in FAILING else r.status.name
        failed += r.status in FAILING
        where = f"[{r.resource_type}] " if getattr(r, "resource_type", None) else ""
        line = f"{mark:10} {where}{r.title}"
        if r.status not in (Status.SUCCESS, Status.SKIPPED) and r.reason:
            line += f": {r.reason}"
        print(line, flush=True)
    print(f"scim2-tester: {len(results)} checks, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
