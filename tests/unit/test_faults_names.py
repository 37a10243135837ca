"""The fault replies named in bot/playbook/faults.py exist in the domain, and the code uses the names."""

from pathlib import Path

from bot.playbook import faults
from bot.settings import PROJECT_ROOT
from rasa_adapter.project_files import responses


def test_every_fault_reply_is_a_domain_response():
    names = {faults.SERVICE_UNAVAILABLE, faults.ORDER_LOOKUP_FAILED, faults.FALLBACK, faults.STILL_WORKING,
             faults.ASK_AGAIN, faults.BUSY}
    assert names <= set(responses())


def test_no_module_spells_a_fault_reply_name_itself():
    """Actions and channels import the names, so a rename cannot silently disable replay."""
    spelled = [
        str(path.relative_to(PROJECT_ROOT))
        for folder in ("actions", "channels")
        for path in Path(PROJECT_ROOT / folder).glob("*.py")
        for name in faults.JOURNALED | {faults.FALLBACK, faults.STILL_WORKING, faults.ASK_AGAIN, faults.BUSY}
        if f'"{name}"' in path.read_text(encoding="utf-8")
    ]
    assert spelled == []
