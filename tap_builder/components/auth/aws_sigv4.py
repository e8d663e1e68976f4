"""``aws_sigv4``: AWS Signature Version 4 on every request (botocore's signer).

For APIs behind AWS (API Gateway with IAM auth, OpenSearch, ...). The run-time
class lives in its own module, so only taps that use it ship it (and depend on
botocore).
"""

from __future__ import annotations

import re
import typing as t

from pydantic import Field

from tap_builder.components.auth.model import AuthModel
from tap_builder.components.base import AuthComponent
from tap_builder.runtime.variables import TemplateError, variables_in
from tap_builder.spec.fields import NonEmpty

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc

#: A region or service name written in the spec (e.g. us-east-1, execute-api).
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class AwsSigV4Auth(AuthModel):
    """Requests signed with AWS Signature Version 4."""

    type: t.Literal["aws_sigv4"]
    access_key_id: NonEmpty = Field(description="Usually {config.aws_access_key_id}.")
    secret_access_key: NonEmpty = Field(
        description="Usually {config.aws_secret_access_key}."
    )
    session_token: NonEmpty | None = Field(
        None, description="Temporary credentials' session token, if any."
    )
    region: NonEmpty = Field(description="The AWS region, e.g. us-east-1.")
    service: NonEmpty = Field(
        description="The signing name of the service, e.g. execute-api or es."
    )

    @property
    def credential_headers(self) -> tuple[str, ...]:
        """The session token's header (the signature is in Authorization)."""
        return ("X-Amz-Security-Token",) if self.session_token else ()


def _has_variable(text: str) -> bool:
    try:
        return any(True for _ in variables_in(text))
    except TemplateError:  # reported by the spec-wide variable check
        return True


def _problems(auth: AwsSigV4Auth, loc: Loc) -> Iterator[Found]:
    for field in ("access_key_id", "secret_access_key", "session_token"):
        value = getattr(auth, field)
        if value is not None and not _has_variable(value):
            yield (
                (*loc, field),
                "AWS credentials are secrets: take them from a setting, e.g. "
                f"{{config.aws_{field}}}, not from the spec",
            )
    for field in ("region", "service"):
        value = getattr(auth, field)
        if not _has_variable(value) and not _NAME.match(value):
            yield (
                (*loc, field),
                f"{value!r} is not an AWS {field} name (lower-case letters, digits "
                "and hyphens, e.g. us-east-1 or execute-api)",
            )


COMPONENT = AuthComponent(
    type="aws_sigv4",
    macro="aws_sigv4",
    class_name="AWSSigV4Authenticator",
    module=".runtime.aws_sigv4",
    model=AwsSigV4Auth,
    problems=_problems,
    requirements=("botocore>=1.34,<2",),
    stub_requirements=("botocore-stubs",),
    example="sample_specs/features/lab_aws.yaml",
)
