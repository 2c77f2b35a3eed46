"""xinli-screen: an open engine for school mental-health screening.

Instruments and warning policies are declared in YAML; answers are scored in a vectorised
engine and every respondent gets a warning tier (none / class / school / district) with the
reasons. Screening results are not a diagnosis.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("xinli-screen")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from xinli_screen import norms
from xinli_screen.errors import (
    DefinitionError,
    DefinitionIssue,
    InstrumentDefinitionError,
    PolicyDefinitionError,
    ResponseDataError,
    XinliScreenError,
    XinliScreenWarning,
)
from xinli_screen.instrument.models import Instrument, instrument_json_schema
from xinli_screen.instrument.registry import list_instruments, load_instrument
from xinli_screen.pipeline import screen
from xinli_screen.policy.loader import load_policy
from xinli_screen.policy.models import TIER_ORDER, Policy
from xinli_screen.responses import prepare_responses
from xinli_screen.result import ScreeningResult
from xinli_screen.scoring import (
    critical_item_flags,
    keys_matrix,
    reverse_key,
    score_instrument,
)

__all__ = [
    "TIER_ORDER",
    "DefinitionError",
    "DefinitionIssue",
    "Instrument",
    "InstrumentDefinitionError",
    "Policy",
    "PolicyDefinitionError",
    "ResponseDataError",
    "ScreeningResult",
    "XinliScreenError",
    "XinliScreenWarning",
    "__version__",
    "critical_item_flags",
    "cronbach_alpha",
    "factor",
    "instrument_json_schema",
    "item_analysis",
    "keys_matrix",
    "list_instruments",
    "load_instrument",
    "load_policy",
    "mcdonald_omega",
    "norms",
    "prepare_responses",
    "reliability",
    "reverse_key",
    "score_instrument",
    "screen",
    "split_half",
    "validity",
]

# Sample-level analyses load scipy (about 1 s); they are imported on first use so that scoring
# and the command line start quickly.
_LAZY = {
    "evaluation": ("xinli_screen.evaluation", None),
    "followup": ("xinli_screen.followup", None),
    "factor": ("xinli_screen.factor", None),
    "reliability": ("xinli_screen.reliability", None),
    "validity": ("xinli_screen.validity", None),
    "cronbach_alpha": ("xinli_screen.reliability", "cronbach_alpha"),
    "item_analysis": ("xinli_screen.reliability", "item_analysis"),
    "mcdonald_omega": ("xinli_screen.reliability", "mcdonald_omega"),
    "split_half": ("xinli_screen.reliability", "split_half"),
}


def __getattr__(name: str) -> object:
    """Import the sample-level analysis modules lazily (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'xinli_screen' has no attribute {name!r}")
    import importlib

    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
