"""Independent top-level streams synced at once, in child processes.

For taps whose spec sets ``parallel_streams`` above 1. The Singer SDK keeps one
state dict for the whole tap and every STATE message carries every stream's
bookmarks, so streams cannot share a process safely; instead a sync with more
than one selected top-level stream is split into *units* (a top-level stream
with its child streams), and each unit runs as a child process of the same tap
(``python -m <package>``) with the same config, the same input state and a
private catalog that selects only that unit. Each child keeps the SDK's own
single-threaded state handling.

- **Output.** SCHEMA and RECORD lines go to standard output as whole lines, in
  each child's order (lines of different children interleave, lines never do).
- **State.** The tap's STATE is the input state with each unit's streams'
  bookmarks replaced by the latest its child emitted, written each time a child
  emits one: it never claims a record not yet written, and the last one holds
  every stream's bookmark.
- **Failure.** When a child fails, the others are stopped (SIGTERM, then SIGKILL
  after :data:`STOP_SECONDS`), no further STATE is written, and the tap exits 1
  with one line naming the stream. Its standard error goes through line by line.
- **Secrets.** Children get the config files as given on the command line (or
  the environment, with ``--config ENV``); the catalogs and the input state are
  written to a private temporary folder (files 0600) removed at the end.
"""

from __future__ import annotations

import logging
import os
import sys
import typing as t

from singer_sdk import Tap

from .jsonio import decode_json
from .secrets import redact
from .units import CHILD_ENV, Runner, Unit

if t.TYPE_CHECKING:
    from singer_sdk.plugin_base import _ConfigInput


class ParallelStreamsTap(Tap):
    """A tap that syncs its selected top-level streams in parallel processes."""

    #: Child processes at once (the spec's ``parallel_streams``).
    parallel_streams: t.ClassVar[int] = 1

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: _ConfigInput | None = None,
        state: t.IO[str] | None = None,
        catalog: t.IO[str] | None = None,
    ) -> None:
        """Sync as :meth:`Tap.invoke` does; in parallel when units are selected."""
        if os.environ.get(CHILD_ENV):
            super().invoke(
                about=about,
                about_format=about_format,
                config=config,
                state=state,
                catalog=catalog,
            )
            return
        if about:
            cls.print_about(about_format)
            sys.exit(0)
        cls.print_version(print_fn=cls.logger.info)
        input_state = {} if state is None else decode_json(state.read())
        tap = cls(
            config=config.config if config else {},
            state=input_state,
            catalog=None if catalog is None else decode_json(catalog.read()),
            parse_env_config=bool(config and config.parse_env),
            validate_config=True,
        )
        units = tap.parallel_units()
        width = min(tap.parallel_width(), len(units))
        if width <= 1:
            tap.sync_all()
            return
        tap.logger.info(
            "Syncing %d streams with their children in up to %d processes",
            len(units),
            width,
        )
        failure = Runner(tap, units, width, input_state).run()
        if failure is not None:
            logging.getLogger(cls.name).error("%s", redact(failure))
            sys.exit(1)

    def parallel_width(self) -> int:
        """Child processes at once (the ``parallel_streams`` setting lowers it)."""
        cap = self.config.get("parallel_streams")
        limit = self.parallel_streams
        return max(1, min(limit, int(cap) if cap else limit))

    def parallel_units(self) -> list[Unit]:
        """Each selected top-level stream with its child streams, in sync order."""
        units: list[Unit] = []
        for stream in self.streams.values():
            if stream.parent_stream_type is not None:
                continue
            if not (stream.selected or stream.has_selected_descendents):
                continue
            family = [stream]
            for member in family:  # grows as children are found
                family += member.child_streams
            units.append(Unit(tuple(s.tap_stream_id for s in family)))
        return units

    def unit_catalog(self, unit: Unit) -> dict[str, t.Any]:
        """The tap's catalog with only ``unit``'s streams left selected."""
        catalog: dict[str, t.Any] = self.catalog.to_dict()
        for entry in catalog.get("streams", []):
            if entry["tap_stream_id"] in unit.streams:
                continue  # as selected (fields too) as in the tap's own catalog
            for metadata in entry.get("metadata", []):
                if not metadata.get("breadcrumb"):
                    metadata.setdefault("metadata", {})["selected"] = False
        return catalog
