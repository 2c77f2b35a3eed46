"""Screening waves (测评批次): a YAML definition with forms, roster, parts and a frozen
policy; scoring every part; roster reconciliation; the warning list (预警名单).

Typical use::

    import xinli_screen as xs
    from xinli_screen.wave import load_wave, score_wave, warning_list

    wave = load_wave("wave1.yaml")
    run = score_wave(wave)                      # every part, with its form
    with xs.archive.ArchiveStore("district.db") as store:
        store.import_wave_run(run, by="王老师")
        table, scales = warning_list(store, wave.definition.id)
"""

from __future__ import annotations

from xinli_screen.wave.definition import LoadedWave, WaveDefinitionError, load_wave, with_policy
from xinli_screen.wave.models import Form, Part, Roster, WaveDefinition, wave_json_schema
from xinli_screen.wave.reconcile import Reconciliation, match_roster, reconcile, select_active
from xinli_screen.wave.run import PartCheck, ScoredPart, WaveRun, check_wave, score_wave
from xinli_screen.wave.warning_list import warning_list

__all__ = ["Form", "LoadedWave", "Part", "PartCheck", "Reconciliation", "Roster",
           "ScoredPart", "WaveDefinition", "WaveDefinitionError", "WaveRun", "check_wave",
           "load_wave", "match_roster", "reconcile", "score_wave", "select_active",
           "warning_list", "wave_json_schema", "with_policy"]
