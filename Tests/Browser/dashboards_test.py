#!/usr/bin/env python3
"""Browser tests of the console's Dashboards screen (SPEC §13): the five dashboards/*.json rendered natively.

Reuses console_test.py's server (the real `opsight serve` on the stores of `scripts/stores.sh`, with
OPSIGHT_BIN), its known events and its helpers. Opens each shipped dashboard, checks that every panel rendered
with data (or, for the panels listed in NO_DATA, its own "No data" note: their series cannot exist in the test
data) and that the browser log has no error; that changing a variable changes the queries sent and what is shown;
that a deep link reloads to the same state. One screenshot per dashboard goes to OPSIGHT_BROWSER_OUT
(default test-output/browser).
"""
import json
import os
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console_test  # noqa: E402  (the harness: Server, events, helpers)
from console_test import OUT, ROOT, XSS_ROUTE, XSS_SERVICE, Server, events, headless_chromium  # noqa: E402

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


DASHBOARDS = {
    "opsight-overview": "overview",
    "opsight-service": "service",
    "opsight-jobs": "jobs",
    "opsight-funnels": "funnels",
    "opsight-self": "opsight",
}
# Panels whose series cannot exist in the test data, so their "No data" note is the right rendering:
# no job is ever retried, and opsight_jobs_total has no event="retried" series until one is.
NO_DATA = {("opsight-jobs", "Retried (since start)")}


def log_lines(now):
    """A few log lines for checkout (console_test's events have none), for the log panel of the service dashboard."""
    lines = [{"ts": now - 60 + i, "service": "checkout", "level": "error" if i % 4 == 0 else "info", "msg": f"line {i}"}
             for i in range(12)]
    return b"\n".join(json.dumps(line).encode() for line in lines) + b"\n"
DONE = ("ok", "nodata", "error", "unsupported", "row")


class DashboardsTests(unittest.TestCase):
    server = None
    driver = None

    # The helpers of the console's tests, as they are (failures counted so that a failed run keeps its data).
    failures = 0
    run = console_test.ConsoleTests.run
    sign_in = console_test.ConsoleTests.sign_in
    open = console_test.ConsoleTests.open
    wait_css = console_test.ConsoleTests.wait_css
    wait_for = console_test.ConsoleTests.wait_for
    texts = console_test.ConsoleTests.texts
    browser_errors = console_test.ConsoleTests.browser_errors
    assert_clean_log = console_test.ConsoleTests.assert_clean_log
    screenshot = console_test.ConsoleTests.screenshot

    @classmethod
    def setUpClass(cls):
        os.makedirs(OUT, exist_ok=True)
        # The server's configuration lives in a temporary folder without dashboards: ./dashboards is the default.
        os.chdir(ROOT)
        cls.server = Server()
        now = time.time()
        r = cls.server.request("/v1/ingest", method="POST", body=events(now) + log_lines(now))
        assert r["rejected"] == 0, r
        deadline = time.time() + 60
        while time.time() < deadline:
            s = cls.server.request("/api/v1/services?window=1h")
            logs = cls.server.request("/api/v1/query?query=" + urllib.parse.quote("sum(opsight_log_lines_total)"))
            if sum(x["requests"] for x in s["services"]) == 250 and logs["data"]["result"]:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"data not visible: {s}")
        cls.driver = headless_chromium()

    @classmethod
    def tearDownClass(cls):
        if cls.driver:
            cls.driver.quit()
        if cls.server:
            cls.server.stop(passed=cls.failures == 0)

    # helpers

    def panels(self):
        """[(type, title, state, queries)] of the shown dashboard's panels."""
        return self.driver.execute_script(
            "return [...document.querySelectorAll('#dashboard-grid .dash-panel')].map((p) => "
            "[p.dataset.panelType, p.dataset.panelTitle, p.dataset.state, p.dataset.queries || '[]'])")

    def wait_rendered(self, uid):
        self.wait_css(f"#dashboard-grid[data-uid='{uid}']", timeout=30)
        self.wait_for(lambda: self.panels() and all(p[2] in DONE for p in self.panels()), timeout=60,
                      message=f"panels of {uid} still loading: {self.panels()}")
        return self.panels()

    def wait_shown(self, condition):
        """Waits until the re-rendered view satisfies the JS `condition` and its panels are done."""
        self.wait_for(lambda: self.driver.execute_script(
            f"return ({condition}) && [...document.querySelectorAll('#dashboard-grid .dash-panel')]"
            f".every((p) => {json.dumps(list(DONE))}.includes(p.dataset.state))"), timeout=60,
            message=f"view never showed {condition}")

    def panel(self, title):
        return self.driver.find_element(By.CSS_SELECTOR, f"#dashboard-grid .dash-panel[data-panel-title={json.dumps(title)}]")

    def legend(self, title):
        return [e.text for e in self.panel(title).find_elements(By.CSS_SELECTOR, ".dash-legend li")]

    def queries(self, title):
        return json.loads(self.panel(title).get_attribute("data-queries") or "[]")

    def state(self):
        """What a reload must keep: the URL, the range, the variables' selections, the legends and stats shown."""
        d = self.driver
        return {
            "url": d.current_url,
            "range": Select(d.find_element(By.ID, "dashboard-range")).first_selected_option.get_attribute("value"),
            "vars": {s.get_attribute("data-var"): [o.get_attribute("value") for o in Select(s).all_selected_options]
                     for s in d.find_elements(By.CSS_SELECTOR, "#dashboard-toolbar select[data-var]")},
            "legends": self.texts(".dash-legend li"),
            "queries": [p[3] for p in self.panels()],
        }

    # tests

    def test_01_list(self):
        self.sign_in(self.server.ops)
        self.open("view=dashboards")
        self.wait_css("#dashboards-list a[data-uid]")
        api = self.server.request("/api/v1/dashboards")["dashboards"]
        self.assertEqual({d["uid"] for d in api}, set(DASHBOARDS))
        self.assertTrue(all("error" not in d for d in api), api)
        links = {e.get_attribute("data-uid") for e in self.driver.find_elements(By.CSS_SELECTOR, "#dashboards-list a[data-uid]")}
        self.assertEqual(links, set(DASHBOARDS))
        self.screenshot("dashboards-list")
        self.assert_clean_log()
        # A read-only token is enough (both endpoints are on the read scope).
        self.sign_in(self.server.reader)
        self.open("view=dashboards&uid=opsight-overview&var-window=1h")
        self.assertTrue(all(p[2] == "ok" for p in self.wait_rendered("opsight-overview")), self.panels())
        self.assert_clean_log()

    def test_02_every_dashboard_renders(self):
        self.sign_in(self.server.ops)
        for uid, name in DASHBOARDS.items():
            with self.subTest(uid=uid):
                # window=1h: the known events stay inside it for the whole run (5m would empty the stats).
                extra = {"var-window": "1h", **({"var-service": "checkout"} if uid == "opsight-service" else {})}
                self.open(urllib.parse.urlencode({"view": "dashboards", "uid": uid, **extra}))
                try:
                    panels = self.wait_rendered(uid)
                finally:
                    self.screenshot(f"dashboard-{name}")
                with open(os.path.join(ROOT, "dashboards", f"{name}.json")) as f:
                    file_panels = json.load(f)["panels"]
                self.assertEqual(len(panels), len(file_panels))
                # Placed on the 24-column grid as gridPos says: start column and row, and the width's share.
                placed = self.driver.execute_script(
                    "const grid = document.getElementById('dashboard-grid').getBoundingClientRect().width;"
                    "return [...document.querySelectorAll('#dashboard-grid .dash-panel')].map((p) => {"
                    " const s = getComputedStyle(p); return [Number(s.gridColumnStart), Number(s.gridRowStart),"
                    " p.getBoundingClientRect().width / grid]; })")
                for fp, (column, row, share) in zip(file_panels, placed):
                    g = fp["gridPos"]
                    self.assertEqual((column, row), (g["x"] + 1, g["y"] + 1), fp["title"])
                    self.assertAlmostEqual(share, g["w"] / 24, delta=0.02, msg=fp["title"])
                for kind, title, state, queries in panels:
                    expected = "nodata" if (uid, title) in NO_DATA else "ok"
                    self.assertEqual(state, expected, f"{uid} panel '{title}' ({kind}): {state}")
                    self.assertNotIn("$", queries, f"{uid} panel '{title}': a variable left in {queries}")
                self.assert_clean_log()

    def test_03_values_match_the_api(self):
        self.sign_in(self.server.ops)
        self.open("view=dashboards&uid=opsight-jobs&var-window=1h")
        self.wait_rendered("opsight-jobs")
        # 20 jobs, every fifth failed (console_test.events).
        self.assertEqual(self.panel("Succeeded (since start)").find_element(By.CSS_SELECTOR, ".stat-value").text, "16")
        self.assertEqual(self.panel("Failed (since start)").find_element(By.CSS_SELECTOR, ".stat-value").text, "4")
        self.assertEqual(self.panel("Worst failure ratio").find_element(By.CSS_SELECTOR, ".stat-value").text, "20 %")
        headers = self.panel("Jobs").find_elements(By.CSS_SELECTOR, "th")
        self.assertEqual([h.text for h in headers][:5], ["job", "queue", "service", "succeeded", "failed"])
        self.assert_clean_log()

    def test_04_variable_changes_the_queries(self):
        self.sign_in(self.server.ops)
        self.open("view=dashboards&uid=opsight-service&var-service=checkout&var-window=1h")
        self.wait_rendered("opsight-service")
        before = self.queries("Request rate by route")
        self.assertIn('service="checkout"', before[0])
        self.assertIn("GET /api/items", self.legend("Request rate by route"))
        Select(self.driver.find_element(By.CSS_SELECTOR, "select[data-var=service]")).select_by_value(XSS_SERVICE)
        self.wait_shown(f"document.querySelector('select[data-var=service]')?.value === {json.dumps(XSS_SERVICE)}")
        self.assertEqual(urllib.parse.parse_qs(urllib.parse.urlparse(self.driver.current_url).query)["var-service"],
                         [XSS_SERVICE])
        after = self.queries("Request rate by route")
        self.assertNotEqual(after, before)
        self.assertIn(XSS_SERVICE, after[0])
        self.assertEqual(self.legend("Request rate by route"), [f"GET {XSS_ROUTE}"])
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "main img, main script"), [])
        self.assertIsNone(self.driver.execute_script("return window.__xss"))
        # A multi-value variable with All becomes a regex alternation; one value, that value.
        self.open("view=dashboards&uid=opsight-jobs")
        self.wait_rendered("opsight-jobs")
        self.assertEqual(Select(self.driver.find_element(By.CSS_SELECTOR, "select[data-var=service]"))
                         .first_selected_option.get_attribute("value"), "$__all")
        self.assertIn('service=~".*"', self.queries("Failure ratio")[0])  # the file's allValue
        self.open("view=dashboards&uid=opsight-jobs&var-window=1h&var-service=checkout&var-service=nothing-here")
        self.wait_rendered("opsight-jobs")
        self.assertIn('service=~"(checkout|nothing-here)"', self.queries("Failure ratio")[0])
        self.assertEqual(self.panel("Failure ratio").get_attribute("data-state"), "ok")
        self.open("view=dashboards&uid=opsight-jobs&var-window=1h&var-service=nothing-here")
        self.wait_rendered("opsight-jobs")
        self.assertIn('service=~"nothing-here"', self.queries("Failure ratio")[0])
        self.assertEqual(self.panel("Failure ratio").get_attribute("data-state"), "nodata")
        self.assert_clean_log()

    def test_05_deep_link_reloads_to_the_same_state(self):
        self.sign_in(self.server.ops)
        self.open("view=dashboards&uid=opsight-service&var-service=checkout")
        self.wait_rendered("opsight-service")
        Select(self.driver.find_element(By.ID, "dashboard-range")).select_by_value("6h")
        self.wait_shown("document.querySelector('#dashboard-range')?.value === '6h'")
        Select(self.driver.find_element(By.CSS_SELECTOR, "select[data-var=window]")).select_by_value("1h")
        self.wait_shown("document.querySelector('select[data-var=window]')?.value === '1h'")
        before = self.state()
        self.assertEqual(before["range"], "6h")
        self.assertEqual(before["vars"], {"service": ["checkout"], "window": ["1h"]})
        exprs = [q for p in before["queries"] for q in json.loads(p)]
        self.assertTrue(all('window="1h"' in q or "window" not in q for q in exprs), exprs)
        self.driver.refresh()
        self.wait_rendered("opsight-service")
        self.assertEqual(self.state(), before)
        # The same link pasted into a fresh page.
        self.driver.get(before["url"])
        self.wait_rendered("opsight-service")
        self.assertEqual(self.state(), before)
        self.assert_clean_log()

    def test_05b_absolute_range(self):
        self.sign_in(self.server.ops)
        end = int(time.time() * 1000)
        start = end - 15 * 60 * 1000
        self.open(f"view=dashboards&uid=opsight-overview&var-window=1h&from={start}&to={end}")
        panels = self.wait_rendered("opsight-overview")
        self.assertTrue(all(p[2] == "ok" for p in panels), panels)
        before = self.state()
        self.assertEqual(before["range"], "")  # "custom": not one of the presets
        self.driver.refresh()
        self.wait_rendered("opsight-overview")
        self.assertEqual(self.state(), before)
        self.assert_clean_log()

    def test_06_errors_and_unknown_types_stay_in_their_panel(self):
        self.sign_in(self.server.ops)
        self.open("view=dashboards&uid=no-such-dashboard")
        msg = self.wait_css("main .message")
        self.assertIn("no-such-dashboard", msg.text)
        # A dashboard with a panel type the console does not draw and a query the server refuses (a real 400),
        # served in place of the API's answer for one uid.
        fake = {"uid": "fake", "title": "Fake", "panels": [
            {"type": "piechart", "title": "Pie", "gridPos": {"x": 0, "y": 0, "w": 8, "h": 6}},
            {"type": "timeseries", "title": "Broken", "gridPos": {"x": 8, "y": 0, "w": 8, "h": 6},
             "targets": [{"refId": "A", "expr": "sum(rate(opsight_requests_total[5m]"}]},
            {"type": "stat", "title": "Fine", "gridPos": {"x": 16, "y": 0, "w": 8, "h": 6}, "fieldConfig": {"defaults": {"unit": "short"}},
             "targets": [{"refId": "A", "expr": "sum(opsight_jobs_total{event=\"failed\"})"}]},
        ]}
        self.driver.execute_script(
            "const fake = arguments[0]; const real = window.fetch;"
            "window.fetch = (url, opts) => String(url).endsWith('/api/v1/dashboards/fake')"
            "  ? Promise.resolve(new Response(JSON.stringify(fake), {status: 200})) : real(url, opts);"
            "history.pushState(null, '', '/?view=dashboards&uid=fake');"
            "window.dispatchEvent(new PopStateEvent('popstate'));", fake)
        states = {p[1]: p[2] for p in self.wait_rendered("fake")}
        self.assertEqual(states, {"Pie": "unsupported", "Broken": "error", "Fine": "ok"})
        self.assertIn('"piechart"', self.panel("Pie").text)
        self.assertIn("The query failed", self.panel("Broken").find_element(By.CSS_SELECTOR, ".message").text)
        self.assertEqual(self.panel("Fine").find_element(By.CSS_SELECTOR, ".stat-value").text, "4")
        self.screenshot("dashboard-errors")
        self.assert_clean_log(allow=["404", "400"])

if __name__ == "__main__":
    unittest.main(verbosity=2)
