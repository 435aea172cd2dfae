"""The built site in real headless Chromium: linked tabs switch everywhere, nothing errors or leaks."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from conftest import serving

pytestmark = pytest.mark.browser

TAB_STATE_JS = """
() => [...document.querySelectorAll('.tabbed-set')].map(set => {
  const inputs = [...set.querySelectorAll(':scope > input')];
  const labels = [...set.querySelectorAll(':scope > .tabbed-labels > label')];
  const i = inputs.findIndex(input => input.checked);
  return labels[i].innerText.trim();
})
"""


def _settle_on(page, label: str, timeout_ms: float = 1500) -> None:
    """Wait until every tab group shows ``label``, or at most ``timeout_ms``: the tab script reacts to
    clicks and to a note opening in later tasks. A page that never settles is judged by its state."""
    try:
        page.wait_for_function(f"() => ({TAB_STATE_JS.strip()})().every(s => s === {label!r})",
                               timeout=timeout_ms, polling=50)
    except PlaywrightTimeoutError:
        pass


@pytest.fixture(scope="module")
def served(built_site):
    with serving(built_site.site_dir) as url:
        yield url


class PageWatch:
    """Console errors, uncaught exceptions and requests to other hosts, for one page."""

    def __init__(self, page, base_url):
        self.errors, self.foreign = [], []
        host = urlparse(base_url).netloc
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("request", lambda req: urlparse(req.url).scheme in ("http", "https")
                and urlparse(req.url).netloc != host and self.foreign.append(req.url))


def test_clicking_tensorflow_switches_every_tab_group_on_the_page(browser, served):
    page = browser.new_page()
    watch = PageWatch(page, served)
    page.goto(f"{served}/ease-of-use/", wait_until="networkidle")
    before = page.evaluate(TAB_STATE_JS)
    assert len(before) >= 4 and set(before) == {"PyTorch"}
    page.locator(".tabbed-labels label", has_text="TensorFlow").first.click()
    page.wait_for_timeout(300)
    after = page.evaluate(TAB_STATE_JS)
    assert after == ["TensorFlow"] * len(before)
    # The TensorFlow code is what is now visible in the first group.
    visible = page.locator(".tabbed-set").first.locator(".tabbed-block").nth(1)
    assert visible.is_visible() and "keras" in visible.inner_text()
    assert watch.errors == [] and watch.foreign == []
    page.close()


def test_the_choice_follows_the_reader_to_other_pages(browser, served):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{served}/ease-of-use/", wait_until="networkidle")
    page.locator(".tabbed-labels label", has_text="TensorFlow").first.click()
    page.goto(f"{served}/debugging/", wait_until="networkidle")
    state = page.evaluate(TAB_STATE_JS)
    assert state and set(state) == {"TensorFlow"}
    context.close()


def _site_pages(built_site):
    return sorted(p.parent.relative_to(built_site.site_dir).as_posix()
                  for p in built_site.site_dir.rglob("index.html") if "404" not in p.parts)


def test_every_page_loads_clean_and_its_tab_groups_follow_the_choice_even_inside_a_collapsed_note(
        browser, served, built_site):
    """Every page loads with no console error and no request to another host; on a page with tab
    groups, switching one makes every group (closed notes included) follow, before and after opening.
    One walk over the site checks both: a page visit costs a second or more."""
    problems, pages_with_hidden_groups = {}, 0
    pages = _site_pages(built_site)
    assert len(pages) >= 10
    for relative in pages:
        url = f"{served}/{'' if relative == '.' else relative + '/'}"
        context = browser.new_context()
        page = context.new_page()
        watch = PageWatch(page, served)
        page.goto(url, wait_until="networkidle")
        if not page.evaluate(TAB_STATE_JS):  # no tab groups: the load itself must be clean
            if watch.errors or watch.foreign:
                problems[relative] = {"errors": watch.errors, "foreign": watch.foreign}
            context.close()
            continue
        pages_with_hidden_groups += page.evaluate("() => document.querySelectorAll('details:not([open]) .tabbed-set').length") > 0
        label = page.locator(".tabbed-labels label:visible", has_text="TensorFlow")
        if label.count() == 0:  # every group starts in a closed note (the Speed page): open the first one
            page.evaluate("() => document.querySelector('details:not([open]) .tabbed-set').closest('details').open = true")
            page.wait_for_timeout(100)
        label.first.click()
        _settle_on(page, "TensorFlow")
        closed = page.evaluate(TAB_STATE_JS)
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        _settle_on(page, "TensorFlow")
        opened = page.evaluate(TAB_STATE_JS)
        shown = page.evaluate("""() => [...document.querySelectorAll('.tabbed-set')].map(set => {
            const blocks = [...set.querySelectorAll(':scope > .tabbed-content > .tabbed-block')];
            return blocks.findIndex(b => b.offsetParent !== null); })""")
        page.goto(url, wait_until="load")  # the choice is remembered: closed notes open on it too
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        _settle_on(page, "TensorFlow")
        reloaded = page.evaluate(TAB_STATE_JS)
        bad = {name: state for name, state in (("closed", closed), ("opened", opened), ("reloaded", reloaded))
               if set(state) != {"TensorFlow"}}
        if set(shown) != {1}:
            bad["visible block"] = shown
        if watch.errors or watch.foreign:
            bad["errors"] = watch.errors + watch.foreign
        if bad:
            problems[relative] = bad
        context.close()
    assert pages_with_hidden_groups >= 1  # the Deployment page's "How the timings are taken" note
    assert problems == {}


PHONE = {"width": 390, "height": 844}
GLANCE_GEOMETRY_JS = """() => {
  const wrap = document.querySelector('.glance');
  const table = wrap && wrap.querySelector('table');
  if (!table) return null;
  const rows = [...table.querySelectorAll('tbody tr')].map(tr => {
    const cells = [...tr.children];
    const shown = cells.filter(td => td.offsetParent !== null && td.getBoundingClientRect().height > 0);
    const figure = cells[3];
    return {height: tr.getBoundingClientRect().height, cells: cells.length, shown: shown.length,
            id: cells[0].innerText.trim(), claim_visible: cells[1].offsetParent !== null,
            badge_visible: !!cells[2].querySelector('.verdict') && cells[2].offsetParent !== null,
            has_figure: !figure.querySelector('.glance-none'), figure_visible: figure.offsetParent !== null,
            right: Math.max(...shown.map(td => td.getBoundingClientRect().right))};
  });
  return {rows, doc_width: document.documentElement.scrollWidth, table_width: table.scrollWidth,
          wrap_width: wrap.clientWidth, viewport: window.innerWidth};
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_claims_table_reads_on_a_390_px_phone(browser, served, scheme):
    """Each claim is a compact card: nothing wider than the screen, no tall wrapped column, nothing lost."""
    page = browser.new_page(viewport=PHONE, color_scheme=scheme)
    page.goto(f"{served}/", wait_until="networkidle")
    geometry = page.evaluate(GLANCE_GEOMETRY_JS)
    page.close()
    assert geometry, "the home page has no .glance claims table"
    rows = geometry["rows"]
    assert len(rows) >= 15
    assert geometry["doc_width"] <= geometry["viewport"]  # no sideways scrolling of the page
    assert geometry["table_width"] <= geometry["wrap_width"]  # nor of the table inside its wrapper
    assert all(r["right"] <= geometry["viewport"] for r in rows)
    heights = sorted(r["height"] for r in rows)
    assert heights[len(heights) // 2] <= 130 and heights[-1] <= 200, heights  # cards, not tall columns
    for r in rows:  # everything the desktop table says is still there
        assert r["id"].startswith("C") and r["claim_visible"] and r["badge_visible"], r
        assert r["figure_visible"] == r["has_figure"], r


def assert_the_speed_page_opens_short(browser, base_url: str) -> None:
    """The summary first; every long table and every code listing starts inside a closed note."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base_url}/speed/", wait_until="networkidle")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    loose = page.evaluate("""() => [...document.querySelectorAll('article table, article .tabbed-set')]
        .filter(el => !el.closest('details:not([open])'))
        .filter(el => el.matches('.tabbed-set') || el.querySelectorAll('tbody tr').length > 8)
        .map(el => (el.innerText || '').slice(0, 60))""")
    first = page.evaluate("() => document.querySelector('article h2').innerText")
    phone = browser.new_page(viewport=PHONE)
    phone.goto(f"{base_url}/speed/", wait_until="networkidle")
    phone_height = phone.evaluate("() => document.documentElement.scrollHeight")
    page.close()
    phone.close()
    assert height < 18000 and phone_height < 25000, (height, phone_height)  # it was 29,807 and 37,346
    assert first.startswith("Verdicts")
    assert loose == []


# What a 390 px phone shows before the reader scrolls: what sits in the first screen, how far right it
# reaches, and whether anything there scrolls sideways inside itself (a wide table in its wrapper).
FIRST_SCREEN_JS = """(selector) => {
  const inner = window.innerHeight, width = window.innerWidth;
  const shown = [...document.querySelectorAll('article *')].filter(el => {
    const r = el.getBoundingClientRect();
    return r.height > 0 && r.top < inner && r.bottom > 0 && el.offsetParent !== null;
  });
  const target = document.querySelector(selector);
  let list = target && target.nextElementSibling;  // the block's list: the first one after its heading
  while (list && !list.matches('ul, h2')) list = list.nextElementSibling;
  if (list && list.matches('h2')) list = null;
  return {doc_width: document.documentElement.scrollWidth, viewport: width,
          widest: Math.max(...shown.map(el => el.getBoundingClientRect().right)),
          scrolling: shown.filter(el => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
                          .map(el => el.tagName + ' ' + (el.innerText || '').slice(0, 40)),
          heading_top: target ? target.getBoundingClientRect().top : null,
          items: list ? [...list.querySelectorAll(':scope > li')].map(li => ({
              right: li.getBoundingClientRect().right, badges: li.querySelectorAll('.verdict').length,
              links: li.querySelectorAll('a[href]').length})) : []};
}"""


@pytest.mark.parametrize(("path", "heading"), [("", "#choose-2026"), ("speed/", "#verdicts")])
def test_the_decision_block_and_the_speed_verdicts_fill_a_390_px_phones_first_screen(browser, served, path, heading):
    """Home's "What to choose" block and Speed's verdicts open the page on a phone: in the first screen,
    each line with its evidence link, and nothing there wider than the screen or scrolling sideways."""
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{served}/{path}", wait_until="networkidle")
    screen = page.evaluate(FIRST_SCREEN_JS, heading)
    page.close()
    assert screen["heading_top"] is not None and 0 <= screen["heading_top"] < PHONE["height"], screen
    assert screen["doc_width"] <= screen["viewport"] and screen["widest"] <= screen["viewport"] + 0.5, screen
    assert screen["scrolling"] == [], screen
    assert len(screen["items"]) >= 4, screen  # the block's lines, a list right under its heading
    assert all(item["links"] >= 1 and item["right"] <= screen["viewport"] for item in screen["items"]), screen
    if path == "speed/":  # each line is a claim's verdict badge
        assert all(item["badges"] == 1 for item in screen["items"]), screen


def test_the_speed_page_opens_short_with_its_long_tables_folded(browser, served):
    """Whatever machine and profile the primary results are (tests/test_foreign_machine.py checks a quick one)."""
    assert_the_speed_page_opens_short(browser, served)
