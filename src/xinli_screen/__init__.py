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

from xinli_screen.errors import (
    DefinitionError,
    DefinitionIssue,
    InstrumentDefinitionError,
    PolicyDefinitionError,
    ResponseDataError,
    XinliScreenError,
    XinliScreenWarning,
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

# Imported on first use (PEP 562), so that ``import xinli_screen`` (and with it every
# ``xinli-screen`` command, including ``--help``) does not pay for what it does not use: the
# scoring names load pandas, pyarrow and the pydantic models (about 0.4 s on a quiet machine),
# the sample-level analyses scipy (about 1 s). Name -> (module, attribute or None for the module).
_LAZY = {
    "norms": ("xinli_screen.norms", None),
    "Instrument": ("xinli_screen.instrument.models", "Instrument"),
    "instrument_json_schema": ("xinli_screen.instrument.models", "instrument_json_schema"),
    "list_instruments": ("xinli_screen.instrument.registry", "list_instruments"),
    "load_instrument": ("xinli_screen.instrument.registry", "load_instrument"),
    "screen": ("xinli_screen.pipeline", "screen"),
    "load_policy": ("xinli_screen.policy.loader", "load_policy"),
    "TIER_ORDER": ("xinli_screen.policy.models", "TIER_ORDER"),
    "Policy": ("xinli_screen.policy.models", "Policy"),
    "prepare_responses": ("xinli_screen.responses", "prepare_responses"),
    "ScreeningResult": ("xinli_screen.result", "ScreeningResult"),
    "critical_item_flags": ("xinli_screen.scoring", "critical_item_flags"),
    "keys_matrix": ("xinli_screen.scoring", "keys_matrix"),
    "reverse_key": ("xinli_screen.scoring", "reverse_key"),
    "score_instrument": ("xinli_screen.scoring", "score_instrument"),
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
    """Import the names of :data:`_LAZY` on first use (PEP 562)."""
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
