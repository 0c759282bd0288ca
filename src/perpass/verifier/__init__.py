"""The hardened verifier (issue 11): verdicts a delivery cannot forge.

The host side lives here (flow, judge, records, sentinel, expected test ids); what runs inside the
verifier session is the stdlib-only kit in kit/. See docs/verifier.md for the threat model.
"""

from perpass.verifier.flow import Delivery, Layout, VerifierLimits, verify_delivery
from perpass.verifier.kit.perpass_kit.treepolicy import Caps
from perpass.verifier.verdict import Evidence, InfraError, TestOutcome, Timings, Verdict

__all__ = ["Caps", "Delivery", "Evidence", "InfraError", "Layout", "TestOutcome", "Timings", "Verdict",
           "VerifierLimits", "verify_delivery"]
