"""The e2e tests directory is shared by the releases and layouts scenarios: only the e2e scenario
has the notices' receiver (rb-e2e-notify), so only it collects test_notices.py."""
import os

collect_ignore = [] if os.environ.get("MOLECULE_SCENARIO_NAME", "e2e") == "e2e" else ["test_notices.py"]
