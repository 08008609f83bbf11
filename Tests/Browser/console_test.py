#!/usr/bin/env python3
"""Browser tests of the admin console (SPEC §12) in a real headless Chromium through Selenium.

Starts the real `opsight serve` (OPSIGHT_BIN) on the stores of `scripts/stores.sh` (OPSIGHT_TEST_REDIS_URL,
OPSIGHT_TEST_DATABASE_URL) with its own schema, key prefix, tokens, a rule that fires at once and a local
webhook receiver; ingests known events; then checks every screen against the API, the browser log, deep-link
reloads, the admin flow, a read-only token, XSS and the CSP. Screenshots and the page-load figure go to
OPSIGHT_BROWSER_OUT (default test-output/browser, gitignored).
"""
import http.server
import json
import os
import random
import shutil
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.environ.get("OPSIGHT_BROWSER_OUT", os.path.join(ROOT, "test-output", "browser"))
XSS_SERVICE = "<img src=x onerror=alert(1)>"
XSS_ROUTE = '/x/"><script>window.__xss=1</script>'


def rid(n=10):
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def headless_chromium():
    """A headless Chromium through chromedriver, keeping the browser log for the tests to read."""
    options = webdriver.ChromeOptions()
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000", "--disable-gpu"]:
        options.add_argument(a)
    if shutil.which("chromium"):
        options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    driver = webdriver.Chrome(service=ChromeService(driver_path), options=options)
    driver.set_page_load_timeout(30)
    return driver


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink(http.server.BaseHTTPRequestHandler):
    """The webhook receiver of the test configuration: accepts every notification."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


class Server:
    """One `opsight serve` with its own schema, prefix and tokens."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="opsight-browser-")
        ident = rid()
        self.schema = f"browser_{ident}"
        self.prefix = f"browser_{ident}"
        self.ops = "t-" + rid(24)
        self.reader = "r-" + rid(24)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        threading.Thread(target=self.sink.serve_forever, daemon=True).start()
        rules = os.path.join(self.dir, "rules.yml")
        with open(rules, "w") as f:
            f.write(
                "groups:\n  - name: console-test\n    rules:\n      - alert: ConsoleHighErrorRatio\n"
                "        expr: opsight_service_error_ratio{window=\"1h\"} > 0.05\n        for: 0s\n"
                "        labels: {severity: critical}\n"
                "        annotations: {summary: \"High error ratio on {{ $labels.service }}\"}\n")
        config = f"""listen: 127.0.0.1:{self.port}
database_schema: {self.schema}
redis_key_prefix: {self.prefix}
wal: {{dir: {self.dir}/wal, max_bytes: 1GiB}}
auth:
  tokens:
    - {{name: ops, token: "{self.ops}", scopes: [ingest, read, admin]}}
    - {{name: reader, token: "{self.reader}", scopes: [read]}}
funnels:
  - {{name: signup, key: entity, window: 1h, steps: [visited, signed_up]}}
alerting:
  rule_files: [{rules}]
  evaluation_interval: 1s
  route: {{receiver: sink, group_by: [alertname, service], group_wait: 1s, group_interval: 5s, repeat_interval: 4h}}
  receivers:
    - {{name: sink, webhook: {{url: "http://127.0.0.1:{self.sink.server_address[1]}/alerts"}}}}
"""
        self.config = os.path.join(self.dir, "opsight.yaml")
        with open(self.config, "w") as f:
            f.write(config)
        env = dict(os.environ)
        env["OPSIGHT_REDIS_URL"] = os.environ["OPSIGHT_TEST_REDIS_URL"]
        env["OPSIGHT_DATABASE_URL"] = os.environ["OPSIGHT_TEST_DATABASE_URL"]
        for k in ["OPSIGHT_LISTEN", "OPSIGHT_WAL_DIR"]:
            env.pop(k, None)
        binary = os.environ.get("OPSIGHT_BIN") or os.path.join(ROOT, ".build", "debug", "opsight")
        self.log = open(os.path.join(self.dir, "opsight.log"), "w")
        self.process = subprocess.Popen([binary, "serve", "--config", self.config], env=env,
                                        stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                self.sink.shutdown()
                raise RuntimeError(f"opsight exited: {open(self.log.name).read()[-3000:]}")
            try:
                if urllib.request.urlopen(self.base + "/readyz", timeout=2).status == 200:
                    return
            except Exception:
                time.sleep(0.2)
        self.stop(passed=False)
        raise RuntimeError("opsight was not ready within 60 s")

    def request(self, path, token=None, method="GET", body=None, raw=False):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token or self.ops}")
        if body is not None:
            req.add_header("Content-Type", "application/x-ndjson" if isinstance(body, bytes) else "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r if raw else json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            if raw:
                return e
            raise AssertionError(f"{method} {path}: {e.code} {e.read()[:500]}")

    def stop(self, passed):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.sink.shutdown()
        self.log.close()
        if not passed:
            print(f"\nkept for inspection: {self.dir} (opsight.log), schema {self.schema}", file=sys.stderr)
            return
        # As the Swift E2E tests' StoreCleanup: drop the schema and keys (best effort), then the directory.
        script = (
            'command -v psql >/dev/null && psql "$DB" -q -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1; '
            'command -v redis-cli >/dev/null && redis-cli -u "$REDIS" --scan --pattern "$PREFIX:*" 2>/dev/null '
            '| xargs -r -n 500 redis-cli -u "$REDIS" DEL >/dev/null 2>&1; exit 0')
        env = dict(os.environ, DB=os.environ["OPSIGHT_TEST_DATABASE_URL"], REDIS=os.environ["OPSIGHT_TEST_REDIS_URL"],
                   SCHEMA=self.schema, PREFIX=self.prefix)
        subprocess.run(["/bin/sh", "-c", script], env=env, timeout=60, stdin=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


def events(now):
    """The known events: `checkout` with 20 of 240 requests failing on POST /api/pay, jobs, a funnel, logs; the XSS service."""
    lines = []
    rng = random.Random(7)
    for i in range(200):
        lines.append({"ts": now - 200 + i * 0.9, "service": "checkout", "route": "/api/items", "method": "GET",
                      "status": 200, "duration_ms": rng.uniform(5, 120)})
    for i in range(40):
        lines.append({"ts": now - 180 + i * 3, "service": "checkout", "route": "/api/pay", "method": "POST",
                      "status": 500 if i % 2 == 0 else 201, "duration_ms": rng.uniform(50, 900),
                      "msg": "card declined" if i % 2 == 0 else "ok"})
    for i in range(20):
        t = now - 150 + i * 5
        jid = f"j{i}"
        lines.append({"ts": t, "service": "checkout", "queue": "emails", "job": "send", "job_id": jid, "event": "enqueued"})
        lines.append({"ts": t + 0.5, "service": "checkout", "queue": "emails", "job": "send", "job_id": jid, "event": "started"})
        lines.append({"ts": t + 1.5, "service": "checkout", "queue": "emails", "job": "send", "job_id": jid,
                      "event": "failed" if i % 5 == 0 else "succeeded", "duration_ms": 1000})
    for i in range(30):
        lines.append({"ts": now - 120 + i, "service": "checkout", "event": "visited", "entity": f"u{i}"})
        if i % 3 == 0:
            lines.append({"ts": now - 100 + i, "service": "checkout", "event": "signed_up", "entity": f"u{i}"})
    for i in range(10):
        lines.append({"ts": now - 100 + i, "service": XSS_SERVICE, "route": XSS_ROUTE, "method": "GET",
                      "status": 200, "duration_ms": 10})
    return b"\n".join(json.dumps(l).encode() for l in lines) + b"\n"


class ConsoleTests(unittest.TestCase):
    server = None
    driver = None

    @classmethod
    def setUpClass(cls):
        os.makedirs(OUT, exist_ok=True)
        cls.server = Server()
        try:
            cls.start()
        except BaseException:
            # tearDownClass does not run after a failed setUpClass: end what was started here.
            if cls.driver:
                cls.driver.quit()
            cls.server.stop(passed=False)
            raise

    @classmethod
    def start(cls):
        r = cls.server.request("/v1/ingest", method="POST", body=events(time.time()))
        assert r["rejected"] == 0, r
        # Wait until every event is visible and the alert fires.
        deadline = time.time() + 60
        while time.time() < deadline:
            s = cls.server.request("/api/v1/services?window=1h")
            total = sum(x["requests"] for x in s["services"])
            alerts = cls.server.request("/api/v1/alerts")["data"]["alerts"]
            evs = cls.server.request("/api/v1/events?service=checkout&limit=1")["events"]
            if total == 250 and any(a["state"] == "firing" for a in alerts) and evs:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"data not visible: {s} {alerts}")
        cls.driver = headless_chromium()

    failures = 0

    def run(self, result=None):
        """Runs the test, counting failures so that a failed run keeps its server's data (shared with the
        dashboards' tests, hence no super())."""
        before = len(result.failures) + len(result.errors) if result else 0
        outcome = unittest.TestCase.run(self, result)
        if result and len(result.failures) + len(result.errors) > before:
            type(self).failures += 1
        return outcome

    @classmethod
    def tearDownClass(cls):
        if cls.driver:
            cls.driver.quit()
        if cls.server:
            cls.server.stop(passed=cls.failures == 0)

    # helpers

    def sign_in(self, token):
        d = self.driver
        # Signed out on a page that runs no script, so no request of the previous screen is left in flight.
        d.get(self.server.base + "/console/favicon.svg")
        d.execute_script("sessionStorage.clear()")
        d.get(self.server.base + "/?view=status")
        field = self.wait_css("#token")
        field.send_keys(token)
        d.find_element(By.CSS_SELECTOR, "#signin button[type=submit]").click()
        self.wait_css("#who button")

    def open(self, query):
        self.driver.get(self.server.base + "/?" + query)

    # The console redraws tables on its 5 s poll: an element read mid-redraw is stale, which is "not yet", not a failure.
    def wait_css(self, css, timeout=15):
        return WebDriverWait(self.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: d.find_element(By.CSS_SELECTOR, css))

    # A click on a table row's control: the redraw can replace the row between finding it and clicking it, which
    # is "find it again", not a failure.
    def click_css(self, css, timeout=15):
        def attempt(d):
            d.find_element(By.CSS_SELECTOR, css).click()
            return True
        return WebDriverWait(self.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(attempt)

    def wait_for(self, fn, timeout=15, message=""):
        return WebDriverWait(self.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: fn(), message)

    def texts(self, css):
        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, css)]

    def browser_errors(self, allow=()):
        """SEVERE browser log entries (JS errors, failed requests), except those containing one of `allow`."""
        entries = self.driver.get_log("browser")
        return [e for e in entries if e["level"] == "SEVERE" and not any(a in e["message"] for a in allow)]

    def assert_clean_log(self, allow=()):
        errors = self.browser_errors(allow)
        self.assertEqual(errors, [], f"browser log has errors: {errors}")

    def screenshot(self, name):
        self.driver.save_screenshot(os.path.join(OUT, f"{name}.png"))

    def assert_reload_keeps(self, read_state):
        before = self.wait_for(read_state)  # read outside a redraw (the state is a non-empty tuple)
        self.driver.refresh()
        self.wait_for(lambda: read_state() == before, message=f"state after reload differs from {before}")

    # tests (unittest runs them in name order; the admin flow mutates silences, so it comes late)

    def test_01_headers_and_csp(self):
        r = urllib.request.urlopen(self.server.base + "/")
        csp = r.headers["Content-Security-Policy"]
        self.assertIn("default-src 'self'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertEqual(r.headers["X-Content-Type-Options"], "nosniff")
        body = r.read().decode()
        self.assertNotIn("<script>", body.replace(" ", ""), "no inline script in index.html")
        for path in ["/console/app.js", "/vendor/dygraphs/dygraph.min.js"]:
            r = urllib.request.urlopen(self.server.base + path)
            self.assertIn("javascript", r.headers["Content-Type"])
        who = self.server.request("/api/v1/whoami", token=self.server.reader)
        self.assertEqual(who, {"name": "reader", "scopes": ["read"]})

    def test_02_bad_token_is_a_sentence(self):
        d = self.driver
        d.get(self.server.base + "/console/favicon.svg")
        d.execute_script("sessionStorage.clear()")
        d.get(self.server.base + "/")
        self.wait_css("#token").send_keys("not-a-token")
        d.find_element(By.CSS_SELECTOR, "#signin button[type=submit]").click()
        msg = self.wait_css("#signin .error")
        self.assertIn("401", msg.text)
        self.assertIn("sign in again", msg.text)
        self.assert_clean_log(allow=["401"])

    def test_03_overview(self):
        self.sign_in(self.server.ops)
        # Paused (state in the URL), so no refresh redraws the table while it is read.
        self.open("view=overview&window=1h&sort=requests&desc=1&paused=1")
        self.wait_css("#services tr[data-service]")
        # the sparklines come after the figures and redraw the table once
        self.wait_for(lambda: len(self.driver.find_elements(By.CSS_SELECTOR, "#services svg.spark")) == 2)
        api = {s["service"]: s for s in self.server.request("/api/v1/services?window=1h")["services"]}
        rows = self.driver.find_elements(By.CSS_SELECTOR, "#services tr[data-service]")
        self.assertEqual(sorted(r.get_attribute("data-service") for r in rows), sorted(api))
        for row in rows:
            s = api[row.get_attribute("data-service")]
            cell = lambda k: row.find_element(By.CSS_SELECTOR, f"td[data-key={k}]").text
            self.assertEqual(cell("requests"), f"{s['requests']:,}")
            self.assertEqual(cell("errors"), str(s["errors"]))
            self.assertEqual(cell("error_ratio"), f"{s['error_ratio'] * 100:.2f} %")
        # sorted by requests, descending
        shown = [r.get_attribute("data-service") for r in rows]
        self.assertEqual(shown, sorted(api, key=lambda k: -api[k]["requests"]))
        # the firing service stands out
        checkout = self.driver.find_element(By.CSS_SELECTOR, 'tr[data-service="checkout"]')
        self.wait_for(lambda: "firing" in (self.driver.find_element(By.CSS_SELECTOR, 'tr[data-service="checkout"]').get_attribute("class") or ""))
        self.assertIn("ConsoleHighErrorRatio", self.driver.find_element(By.CSS_SELECTOR, 'tr[data-service="checkout"] td[data-key=alerts]').text)
        # sparklines drawn
        self.assertTrue(self.driver.find_elements(By.CSS_SELECTOR, 'tr[data-service="checkout"] svg.spark polyline'))
        # XSS: the name shows literally, no <img> injected, no script ran
        xss_row = self.driver.find_element(By.CSS_SELECTOR, "#services tr[data-service='" + XSS_SERVICE.replace("'", "\\'") + "']")
        self.assertEqual(xss_row.find_element(By.CSS_SELECTOR, "td[data-key=service]").text, XSS_SERVICE)
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "#services img"), [])
        self.assertIsNone(self.driver.execute_script("return window.__xss"))
        self.screenshot("overview")
        self.assert_reload_keeps(lambda: (
            self.driver.find_element(By.CSS_SELECTOR, "select[name=window]").get_attribute("value"),
            tuple(r.get_attribute("data-service") for r in self.driver.find_elements(By.CSS_SELECTOR, "#services tr[data-service]"))))
        # pause is kept in the URL
        self.assertEqual(self.driver.find_element(By.ID, "pause").text, "Resume")
        self.driver.find_element(By.ID, "pause").click()
        self.assertNotIn("paused=1", self.driver.current_url)
        self.driver.find_element(By.ID, "pause").click()
        self.assertIn("paused=1", self.driver.current_url)
        self.assert_clean_log()

    def test_04_page_load_figure(self):
        self.sign_in(self.server.ops)
        figures = []
        for _ in range(7):
            self.open("view=overview&window=5m")
            self.wait_css("#services tr[data-service]")
            t = self.wait_for(lambda: self.driver.execute_script(
                "const m = performance.getEntriesByName('overview-data-drawn')[0]; return m ? m.startTime : null"))
            figures.append(t)
        median = statistics.median(figures[1:])
        with open(os.path.join(OUT, "page_load.json"), "w") as f:
            json.dump({"overview_data_drawn_ms": figures, "median_ms_after_first": median}, f)
        print(f"\nconsole: navigation start -> overview data drawn: median {median:.0f} ms of {['%.0f' % x for x in figures[1:]]} (first load {figures[0]:.0f} ms)")
        self.assertLess(median, 5000)
        self.assert_clean_log()

    def test_05_service(self):
        self.sign_in(self.server.ops)
        self.open("view=service&service=checkout&range=15m&window=1h&sort=requests&desc=1")
        self.wait_css("#routes tr[data-route]")
        api = self.server.request("/api/v1/services/checkout/routes?window=1h")["routes"]
        for r in api:
            row = self.driver.find_element(By.CSS_SELECTOR, f'#routes tr[data-route="{r["method"]} {r["route"]}"]')
            self.assertEqual(row.find_element(By.CSS_SELECTOR, "td[data-key=requests]").text, str(r["requests"]))
            self.assertEqual(row.find_element(By.CSS_SELECTOR, "td[data-key=errors]").text, str(r["errors"]))
        jobs = self.server.request("/api/v1/jobs?service=checkout&window=1h")["jobs"]
        for j in jobs:
            row = self.driver.find_element(By.CSS_SELECTOR, f'#jobs tr[data-job="{j["queue"]}/{j["job"]}"]')
            self.assertEqual(row.find_element(By.CSS_SELECTOR, "td[data-key=succeeded]").text, str(j["succeeded"]))
            self.assertEqual(row.find_element(By.CSS_SELECTOR, "td[data-key=failed]").text, str(j["failed"]))
        # the three charts, drawn by dygraphs
        for cid in ["chart-rate", "chart-errors", "chart-latency"]:
            self.wait_css(f"#{cid} canvas")
        # the latency chart has a legend: one key per quantile series the API returns, each in its own colour
        keys = self.driver.find_elements(By.CSS_SELECTOR, "#chart-latency .key .key-item")
        names = [k.get_attribute("data-series") for k in keys]
        self.assertEqual(names, ["p50", "p95", "p99"])
        self.assertEqual([k.text for k in keys], names)
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "#chart-rate .key .key-item"), [])
        self.assertEqual(len({k.value_of_css_property("color") for k in keys}), 3)
        self.screenshot("service")
        self.assert_reload_keeps(lambda: (
            self.driver.find_element(By.CSS_SELECTOR, "button[data-range='15m']").get_attribute("aria-pressed"),
            self.driver.find_element(By.CSS_SELECTOR, "#routes select[name=window]").get_attribute("value"),
            tuple(e.get_attribute("data-route") for e in self.driver.find_elements(By.CSS_SELECTOR, "#routes tr[data-route]"))))
        self.assert_clean_log()
        # a click on an error count opens Events for that service, route and time range
        self.click_css('#routes tr[data-route="POST /api/pay"] .errors-link')
        self.wait_css("#events tr[data-event-id]")
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.driver.current_url).query)
        self.assertEqual((q["view"], q["service"], q["route"], q["errors"]), (["events"], ["checkout"], ["/api/pay"], ["true"]))
        rows = self.driver.find_elements(By.CSS_SELECTOR, "#events tr[data-event-id]")
        self.assertEqual(len(rows), 20)
        # drag-select on the rate chart opens Events of that range
        self.driver.back()
        canvas = self.wait_css("#chart-rate canvas")
        self.wait_for(lambda: self.driver.find_element(By.CSS_SELECTOR, "#chart-rate canvas").size["width"] > 100)
        canvas = self.driver.find_element(By.CSS_SELECTOR, "#chart-rate canvas")
        w = canvas.size["width"]
        # offsets are from the element's centre
        ActionChains(self.driver).move_to_element_with_offset(canvas, -int(w * 0.3), 0).click_and_hold() \
            .move_by_offset(int(w * 0.2), 0).move_by_offset(int(w * 0.2), 0).release().perform()
        self.wait_for(lambda: "view=events" in self.driver.current_url, message="drag did not open events")
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.driver.current_url).query)
        self.assertEqual(q["service"], ["checkout"])
        self.assertLess(int(q["from"][0]), int(q["to"][0]))
        self.wait_css("#events")
        self.assert_clean_log()
        # in zoom mode the drag zooms, and the zoomed range is in the URL
        self.open("view=service&service=checkout&range=15m&drag=zoom")
        self.wait_css("#chart-rate canvas")
        self.wait_for(lambda: self.driver.find_element(By.CSS_SELECTOR, "#chart-rate canvas").size["width"] > 100)
        canvas = self.driver.find_element(By.CSS_SELECTOR, "#chart-rate canvas")
        w = canvas.size["width"]
        ActionChains(self.driver).move_to_element_with_offset(canvas, -int(w * 0.3), 0).click_and_hold() \
            .move_by_offset(int(w * 0.2), 0).move_by_offset(int(w * 0.2), 0).release().perform()
        self.wait_for(lambda: "from=" in self.driver.current_url, message="zoom did not reach the URL")
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.driver.current_url).query)
        self.assertEqual((q["view"], q["drag"]), (["service"], ["zoom"]))
        self.assertNotIn("range", q)
        self.driver.refresh()
        self.wait_css("#chart-rate canvas")
        self.wait_css("#charts ~ #routes tr[data-route]")
        self.assertEqual(self.driver.find_element(By.CSS_SELECTOR, "input[name=from]").get_attribute("value"),
                         time.strftime("%Y-%m-%dT%H:%M", time.gmtime(int(q["from"][0]))))
        self.assert_clean_log()

    def test_06_events(self):
        self.sign_in(self.server.ops)
        self.open("view=events&service=checkout&kind=request")
        self.wait_css("#events tr[data-event-id]")
        api = self.server.request("/api/v1/events?service=checkout&kind=request&limit=50")
        ids = [e.get_attribute("data-event-id") for e in self.driver.find_elements(By.CSS_SELECTOR, "#events tr[data-event-id]")]
        self.assertEqual(ids, [str(e["id"]) for e in api["events"]])
        first = self.driver.find_element(By.CSS_SELECTOR, "#events details.event-json")
        first.find_element(By.TAG_NAME, "summary").click()
        shown = json.loads(first.find_element(By.TAG_NAME, "pre").text)
        self.assertEqual(shown, api["events"][0]["event"])
        self.driver.find_element(By.ID, "next-page").click()
        self.wait_for(lambda: "cursor=" in self.driver.current_url)
        self.wait_css("#first-page")
        page2 = self.server.request("/api/v1/events?" + urllib.parse.urlencode(
            {"service": "checkout", "kind": "request", "limit": 50, "cursor": api["next_cursor"]}, quote_via=urllib.parse.quote))
        ids2 = lambda: tuple(e.get_attribute("data-event-id") for e in self.driver.find_elements(By.CSS_SELECTOR, "#events tr[data-event-id]"))
        self.wait_for(lambda: ids2() == tuple(str(e["id"]) for e in page2["events"]))
        self.screenshot("events")
        self.assert_reload_keeps(ids2)
        self.assert_clean_log()

    def test_07_funnels(self):
        self.sign_in(self.server.ops)
        self.open("view=funnels&window=1h")
        self.wait_css("section[data-funnel=signup] .entered")
        api = self.server.request("/api/v1/funnels/signup?window=1h")
        self.assertEqual(self.driver.find_element(By.CSS_SELECTOR, "section[data-funnel=signup] .entered").text, str(api["entered"]))
        for s in api["steps"]:
            row = self.driver.find_element(By.CSS_SELECTOR, f'tr[data-step="{s["name"]}"]')
            self.assertEqual(row.find_element(By.CSS_SELECTOR, "td[data-key=reached]").text, str(s["reached"]))
            self.assertEqual(row.find_element(By.CSS_SELECTOR, "td[data-key=conversion]").text, f"{s['conversion'] * 100:.2f} %")
        self.screenshot("funnels")
        self.assert_reload_keeps(lambda: self.driver.find_element(By.CSS_SELECTOR, "select[name=window]").get_attribute("value"))
        self.assert_clean_log()

    def test_08_explore(self):
        self.sign_in(self.server.ops)
        query = 'opsight_service_error_ratio{window="1h"}'
        self.open("view=explore&" + urllib.parse.urlencode({"query": query, "tab": "table"}))
        self.wait_css("#explore-result tbody tr")
        api = self.server.request("/api/v1/query?" + urllib.parse.urlencode({"query": query}))["data"]["result"]
        shown = {r.find_element(By.CSS_SELECTOR, "td[data-key=metric]").text: r.find_element(By.CSS_SELECTOR, "td[data-key=value]").text
                 for r in self.driver.find_elements(By.CSS_SELECTOR, "#explore-result tbody tr")}
        self.assertEqual(len(shown), len(api))
        for s in api:
            self.assertIn(s["value"][1], shown.values())
        self.screenshot("explore")
        self.assert_reload_keeps(lambda: (self.driver.find_element(By.ID, "query").get_attribute("value"), len(self.texts("#explore-result tbody tr"))))
        self.assert_clean_log()
        # graph tab through query_range
        self.open("view=explore&" + urllib.parse.urlencode({"query": query, "tab": "graph", "range": "15m"}))
        self.wait_css("#explore-chart canvas")
        self.screenshot("explore-graph")
        self.assert_clean_log()
        # an error shown at its position
        self.open("view=explore&" + urllib.parse.urlencode({"query": "sum(opsight_service_error_ratio{window=\"1h\"} +)", "tab": "table"}))
        err = self.wait_css("#query-error")
        self.assertIn("failed", err.text)
        caret = self.wait_css("#query-caret")
        self.assertTrue(caret.text.rstrip().endswith("^"))
        self.assert_clean_log(allow=["400"])

    def test_09_status_and_dashboards(self):
        self.sign_in(self.server.ops)
        self.open("view=status")
        self.wait_css("#status tr[data-field=Version]")
        api = self.server.request("/api/v1/status")
        self.assertEqual(self.driver.find_element(By.CSS_SELECTOR, "#status tr[data-field=Version] td[data-key='1']").text, api["version"])
        self.screenshot("status")
        self.open("view=dashboards")
        self.wait_css("#dashboards-list a[data-uid]")
        self.screenshot("dashboards")
        self.assert_reload_keeps(lambda: self.driver.find_element(By.CSS_SELECTOR, "nav a.current").text)
        self.assert_clean_log()

    def test_10_alerts_admin_flow(self):
        self.sign_in(self.server.ops)
        self.open("view=alerts&" + urllib.parse.urlencode({"filter": 'service="checkout"'}))
        row = self.wait_css('tr[data-state=firing]')
        api = [a for a in self.server.request("/api/v1/alerts")["data"]["alerts"] if a["labels"].get("service") == "checkout"]
        self.assertEqual(self.driver.find_element(By.CSS_SELECTOR, "#alert-counts [data-state=firing]").text,
                         f"{sum(a['state'] == 'firing' for a in api)} firing")
        self.assertEqual(self.driver.find_element(By.ID, "filter").get_attribute("value"), 'service="checkout"')
        self.wait_css('tr[data-rule=ConsoleHighErrorRatio]')
        self.screenshot("alerts")
        self.assert_reload_keeps(lambda: (self.driver.find_element(By.ID, "filter").get_attribute("value"),
                                          tuple(self.texts("tr[data-alert]"))))
        # silence it from the alert, with a preview
        self.click_css("tr[data-state=firing] .silence-alert")
        preview = self.wait_css("#silence-preview")
        self.assertIn("would mute 1 current alert", preview.text)
        self.driver.find_element(By.CSS_SELECTOR, "#silence-form input[name=comment]").send_keys("browser test")
        self.driver.find_element(By.ID, "silence-submit").click()
        self.wait_css("tr[data-state=silenced][data-alert]")
        silences = [s for s in self.server.request("/api/v1/silences") if s["status"]["state"] == "active"]
        self.assertEqual(len(silences), 1)
        self.assertEqual(silences[0]["comment"], "browser test")
        self.assertEqual(silences[0]["createdBy"], "ops")
        self.screenshot("alerts-silenced")
        # edit it: a new comment, the same silence
        self.click_css(f'tr[data-silence="{silences[0]["id"]}"] .edit-silence')
        comment = self.wait_css("#silence-form input[name=comment]")
        comment.clear()
        comment.send_keys("edited")
        self.driver.find_element(By.ID, "silence-submit").click()
        self.wait_for(lambda: [s["comment"] for s in self.server.request("/api/v1/silences") if s["status"]["state"] == "active"] == ["edited"])
        # expire it: the alert fires again
        self.click_css(f'tr[data-silence="{silences[0]["id"]}"] .expire-silence')
        self.wait_css(f'tr[data-silence="{silences[0]["id"]}"][data-state=expired]')
        self.wait_css("tr[data-state=firing][data-alert]")
        # silence the whole filter: the preview names what it mutes
        self.driver.find_element(By.ID, "silence-filter").click()
        self.assertIn("would mute 1 current alert", self.wait_css("#silence-preview").text)
        self.assertEqual(self.driver.find_element(By.CSS_SELECTOR, "#silence-form input[name=matchers]").get_attribute("value"),
                         'service="checkout"')
        self.driver.find_element(By.ID, "silence-submit").click()  # no comment: the form is not sent
        self.assertEqual([s for s in self.server.request("/api/v1/silences") if s["status"]["state"] == "active"], [])
        self.driver.find_element(By.CSS_SELECTOR, "#silence-form input[name=comment]").send_keys("whole service")
        self.driver.find_element(By.ID, "silence-submit").click()
        self.wait_css("tr[data-state=silenced][data-alert]")
        active = [s for s in self.server.request("/api/v1/silences") if s["status"]["state"] == "active"]
        self.assertEqual([m["name"] for m in active[0]["matchers"]], ["service"])
        self.click_css(f'tr[data-silence="{active[0]["id"]}"] .expire-silence')
        self.wait_css(f'tr[data-silence="{active[0]["id"]}"][data-state=expired]')
        self.wait_css("tr[data-state=firing][data-alert]")
        self.assert_clean_log()

    def test_11_read_only_token(self):
        self.sign_in(self.server.reader)
        self.open("view=alerts")
        self.wait_css("tr[data-alert]")
        self.wait_css("tr[data-rule]")
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, ".silence-alert, .expire-silence, .edit-silence, #silence-filter"), [])
        self.assertIn("reader (read)", self.driver.find_element(By.ID, "who").text)
        self.screenshot("alerts-read-only")
        self.assert_clean_log()
        # forged: an admin's silence form submitted with the read token gets 403, shown as a sentence
        self.sign_in(self.server.ops)
        self.open("view=alerts")
        self.click_css("tr[data-state=firing] .silence-alert")
        self.wait_css("#silence-form input[name=comment]").send_keys("forged")
        self.driver.execute_script("sessionStorage.setItem('opsight.token', arguments[0])", self.server.reader)
        self.driver.find_element(By.ID, "silence-submit").click()
        msg = self.wait_css("#silence-form .message")
        self.assertIn("403", msg.text)
        self.assertIn("not allowed", msg.text)
        self.assertIn("admin", msg.text)
        self.screenshot("forbidden-message")
        self.assert_clean_log(allow=["403"])
        silences = [s for s in self.server.request("/api/v1/silences") if s["status"]["state"] == "active"]
        self.assertEqual(silences, [])

    def test_12_xss_route(self):
        self.sign_in(self.server.ops)
        self.open("view=service&" + urllib.parse.urlencode({"service": XSS_SERVICE, "window": "1h"}))
        try:
            self.wait_css("#routes tr[data-route]")
        finally:
            self.screenshot("xss")
        self.assertEqual(self.driver.find_element(By.ID, "service-name").text, XSS_SERVICE)
        self.assertEqual(self.driver.find_element(By.CSS_SELECTOR, "#routes td[data-key=route]").text, XSS_ROUTE)
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "main img, main script"), [])
        self.assertIsNone(self.driver.execute_script("return window.__xss"))
        self.screenshot("xss")
        self.assert_clean_log()

    def test_13_polling_every_5s_and_not_while_hidden(self):
        self.sign_in(self.server.ops)
        self.open("view=overview&window=1h&refresh=5")
        self.wait_css("#services tr[data-service]")
        count = lambda: self.driver.execute_script(
            "return performance.getEntriesByType('resource').filter(e => e.name.includes('/api/v1/services?')).length")
        time.sleep(11.5)
        visible = count()
        self.assertIn(visible, (2, 3), "one load, then a refresh every 5 s (never more often)")
        # the tab goes hidden: no more polling
        self.driver.execute_script(
            "Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
            "document.dispatchEvent(new Event('visibilitychange'))")
        time.sleep(11)
        self.assertEqual(count(), visible)
        # shown again: one refresh at once
        self.driver.execute_script(
            "Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
            "document.dispatchEvent(new Event('visibilitychange'))")
        self.wait_for(lambda: count() == visible + 1)
        self.assert_clean_log()


if __name__ == "__main__":
    unittest.main(verbosity=2)
