"""An added ``-> None`` that would pass ``max-line-length`` wraps the signature as ruff format.

The signatures are the long ones of real Django views and services (an organizer, an
event and an export in the URL, keyword-only flags).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from flake8_djguide.fix import fix_source
from flake8_djguide.registry import by_code
from tests.util import settings_with

VIEWS = """\
class ExportView(LoginRequiredMixin, View):
    def dispatch_export(self, request, organizer_slug, event_slug, export_identifier):
        self.run(request, organizer_slug, event_slug, export_identifier)

    @method_decorator(csrf_exempt)
    async def post(self, request, organizer, /, identifier, *, force=False, **kw):
        await self.run(request, organizer, identifier, force=force)

    def get(self, request):
        self.run(request)


def send_order_confirmation(order, position, *, invoice=None, resend=False, **kwargs):
    mail(order, position, invoice=invoice, resend=resend)
"""

WRAPPED_AT_88 = """\
class ExportView(LoginRequiredMixin, View):
    def dispatch_export(
        self, request, organizer_slug, event_slug, export_identifier
    ) -> None:
        self.run(request, organizer_slug, event_slug, export_identifier)

    @method_decorator(csrf_exempt)
    async def post(
        self, request, organizer, /, identifier, *, force=False, **kw
    ) -> None:
        await self.run(request, organizer, identifier, force=force)

    def get(self, request) -> None:
        self.run(request)


def send_order_confirmation(
    order, position, *, invoice=None, resend=False, **kwargs
) -> None:
    mail(order, position, invoice=invoice, resend=resend)
"""


def fixed(code: str, line_length: int | None) -> str:
    result = fix_source(
        code, "shop/views.py", [by_code()["DJG402"]], settings_with({}), line_length=line_length
    )
    assert not result.problems
    return result.source


def test_a_signature_the_fix_makes_too_long_is_wrapped() -> None:
    assert fixed(VIEWS, 88) == WRAPPED_AT_88
    # fixing again changes nothing
    assert fixed(WRAPPED_AT_88, 88) == WRAPPED_AT_88


def test_signatures_that_fit_or_were_already_too_long_are_not_wrapped() -> None:
    unwrapped = VIEWS.replace("):\n", ") -> None:\n").replace("View) -> None:", "View):")
    # 82 and 86 columns before the fix: already over 80, so left on one line as they were
    assert fixed(VIEWS, 80) == unwrapped
    # no line length: never wrapped
    assert fixed(VIEWS, None) == unwrapped
    # long enough for everything
    assert fixed(VIEWS, 94) == unwrapped


def test_tabs_and_crlf_are_kept() -> None:
    code = (
        "class A:\r\n\tdef handle(self, request, organizer_slug, event_slug):\r\n\t\tself.run()\r\n"
    )
    assert fixed(code, 60) == (
        "class A:\r\n"
        "\tdef handle(\r\n"
        "\t\tself, request, organizer_slug, event_slug\r\n"
        "\t) -> None:\r\n"
        "\t\tself.run()\r\n"
    )


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
@pytest.mark.parametrize("line_length", [88, 90, 93])
def test_ruff_format_leaves_the_wrapped_signatures_as_they_are(line_length: int) -> None:
    code = fixed(VIEWS, line_length)
    ruff = shutil.which("ruff")
    assert ruff is not None
    result = subprocess.run(
        [ruff, "format", "--isolated", f"--line-length={line_length}", "-"],
        input=code,
        capture_output=True,
        text=True,
        check=True,
    )
    wrapped = [line for line in code.splitlines() if line.rstrip().endswith("(")]
    assert wrapped  # something was wrapped
    formatted = result.stdout.splitlines()
    for line in code.splitlines():
        if line.strip().startswith(("def ", "async def ", ") -> None:")) or line in wrapped:
            assert line in formatted, line
