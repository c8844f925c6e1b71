"""The shared HTML page scaffold (:mod:`fairwatch.report.page`)."""

from __future__ import annotations

from fairwatch.report.page import STYLE, Card, badge, cards, figure, number, page


def test_a_page_is_one_document_with_the_shared_and_its_own_style() -> None:
    html = page("Audit <of> x.csv", ["<h1>One</h1>", "<p>two</p>"], ".mine { color:red; }")
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Audit &lt;of&gt; x.csv</title>" in html  # the title is text, escaped
    assert f"<style>{STYLE}.mine {{ color:red; }}</style>" in html
    body = html[html.index("<main>") : html.index("</main>")]
    assert body.index("<h1>One</h1>") < body.index("<p>two</p>")
    assert html.rstrip().endswith("</html>")


def test_cards_escape_their_text_and_carry_their_kind() -> None:
    html = cards([Card("Rows", "1,200"), Card("Breaches <all>", "3", "breach")])
    assert html.count('<div class="label">') == 2
    assert '<div class="card"><div class="label">Rows</div>' in html
    assert '<div class="card breach"><div class="label">Breaches &lt;all&gt;</div>' in html
    assert '<div class="value">1,200</div>' in html


def test_a_figure_has_a_frame_an_optional_caption_and_extra_classes() -> None:
    assert figure("<svg/>") == '<figure class="figure"><svg/></figure>'
    assert figure("<svg/>", "About <b>it</b>", "wide") == (
        '<figure class="figure wide"><svg/><figcaption>About <b>it</b></figcaption></figure>'
    )


def test_badges_name_the_verdict_and_numbers_never_show_missing_as_zero() -> None:
    assert badge("not_computable") == '<span class="badge not_computable">not computable</span>'
    assert badge("breach", "FAIL") == '<span class="badge breach">FAIL</span>'
    assert number(None) == '<span class="na">—</span>'
    assert number(0.0) == "0.000"
    assert number(0.12345, 2) == "0.12"
    # every badge has a colour in the shared style
    for status in ("ok", "breach", "undecided", "not_computable"):
        assert f".badge.{status}" in STYLE
