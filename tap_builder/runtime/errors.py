"""Error rules: per-stream answers to statuses and bodies (retry, ignore, fail)."""

from __future__ import annotations

import typing as t

from singer_sdk.exceptions import RetriableAPIError

from .http import APIError
from .jsonio import decode_json, first_match
from .secrets import redact_url
from .streams import BuilderStream

if t.TYPE_CHECKING:
    import requests


class ErrorRulesStream(BuilderStream):
    """A stream with ``error_handling`` rules."""

    #: (statuses, body JSONPath, body value, action, message) rules, in order.
    error_rules: t.ClassVar[
        tuple[tuple[tuple[int, ...], str | None, t.Any, str, str | None], ...]
    ] = ()

    def validate_response(self, response: requests.Response) -> None:
        """The first matching rule decides; without one, the usual handling."""
        if self._apply_error_rules(response):
            return
        super().validate_response(response)

    def _apply_error_rules(self, response: requests.Response) -> bool:
        """Apply the first matching ``error_handling`` rule; True: ignore it."""
        for statuses, body_path, body_value, action, message in self.error_rules:
            if response.status_code not in statuses:
                continue
            if body_path is not None:
                try:
                    found = first_match(body_path, decode_json(response.content))
                except ValueError:
                    continue
                if found is None or (body_value is not None and found != body_value):
                    continue
            note = f" ({message})" if message else ""
            text = f"{self.error_message(response)}{note}"
            if action == "retry":
                raise RetriableAPIError(text, response)
            if action == "fail":
                raise APIError(text)
            where = redact_url(response.url, self.secret_query_params)
            self.logger.warning(
                "stream %r: ignoring HTTP %s for %s%s",
                self.name,
                response.status_code,
                where,
                note,
            )
            self._decoded = (response, {})
            return True
        return False
