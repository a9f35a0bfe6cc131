//! Reports opened in a real browser: headless Chromium driven through ChromeDriver (W3C
//! WebDriver over HTTP). Every chart must render with drawn content, no image may be broken,
//! the console must stay free of errors, and the verdicts on the page must say what
//! results.json says. A screenshot of each page is kept as a test artifact.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without them the
//! test says so and passes, unless `INCRLAB_REQUIRE_BROWSER=1` (set by `.ci/run`) makes their
//! absence a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use common::copy_report_fixtures;
use incrlab::report::{write_report, HTML_FILE};
use incrlab::results::RunResults;

/// A ChromeDriver process and one browser session on it; both end on drop.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

fn find_program(env_var: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env_var) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    candidates.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

impl Browser {
    /// `None` when Chromium or ChromeDriver is not installed.
    fn start() -> Option<Browser> {
        let chromium = find_program("CHROMIUM", &["chromium", "chromium-browser"])?;
        let chromedriver = find_program("CHROMEDRIVER", &["chromedriver"])?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not answer within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        // The flags a closed network and a root sandbox need: no sandbox, no background
        // connections (they are refused here and would fill the log), a fresh profile.
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", "--window-size=1200,2400",
                        format!("--user-data-dir={}", profile.path().display()),
                    ]
                },
                "goog:loggingPrefs": { "browser": "ALL" }
            }}
        });
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            _profile: profile,
        };
        let created = browser.post("/session", caps);
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        Some(browser)
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        match ureq::post(&url).send_json(body) {
            Ok(response) => response.into_json::<Value>().unwrap()["value"].clone(),
            Err(ureq::Error::Status(code, response)) => {
                panic!("{url}: HTTP {code}: {}", response.into_string().unwrap())
            }
            Err(e) => panic!("{url}: {e}"),
        }
    }

    fn get(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.base);
        ureq::get(&url)
            .call()
            .unwrap()
            .into_json::<Value>()
            .unwrap()["value"]
            .clone()
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn open(&self, file: &Path) {
        let url = format!("file://{}", file.canonicalize().unwrap().display());
        self.post(&self.session_path("/url"), json!({ "url": url }));
    }

    fn execute(&self, script: &str) -> Value {
        self.post(
            &self.session_path("/execute/sync"),
            json!({ "script": script, "args": [] }),
        )
    }

    /// The browser's console and network log since the last call.
    fn console(&self) -> Vec<Value> {
        self.post(&self.session_path("/se/log"), json!({ "type": "browser" }))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn screenshot(&self, to: &Path) {
        let b64 = self.get(&self.session_path("/screenshot"));
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        std::fs::write(to, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn browser_or_skip() -> Option<Browser> {
    let browser = Browser::start();
    if browser.is_none() {
        assert!(
            std::env::var("INCRLAB_REQUIRE_BROWSER").is_err(),
            "INCRLAB_REQUIRE_BROWSER is set but chromium/chromedriver are not installed \
             (apt-get install chromium chromium-driver)"
        );
        eprintln!("skipped: chromium and chromedriver are not installed");
    }
    browser
}

/// Per chart on the page: its id, how many drawn elements its SVG holds and its rendered size.
const CHART_PROBE: &str = r#"
return Array.from(document.querySelectorAll('figure.chart')).map(f => {
  const svg = f.querySelector('svg');
  const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
  const drawn = svg ? svg.querySelectorAll('path, line, polyline, circle, rect, text').length : 0;
  return { id: f.id, has_svg: !!svg, drawn: drawn, width: box.width, height: box.height };
});
"#;

const BROKEN_IMAGES: &str = r#"
return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src);
"#;

const VERDICTS: &str = r#"
return Array.from(document.querySelectorAll('li[data-strategy]')).map(li => ({
  label: li.dataset.strategy, verdict: li.dataset.verdict, text: li.textContent
}));
"#;

/// Where screenshots go: the build's scratch directory, kept after the test.
fn artifact(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn assert_page_renders(browser: &Browser, page: &Path, charts_dir: &Path, shot: &str) {
    browser.console(); // drop anything logged before this page
    browser.open(page);
    let charts = browser.execute(CHART_PROBE);
    let charts = charts.as_array().expect("a list of charts");
    let chart_files = std::fs::read_dir(charts_dir).unwrap().count();
    assert_eq!(charts.len(), chart_files, "every chart file is on the page");
    for c in charts {
        assert!(c["has_svg"].as_bool().unwrap(), "{}: no SVG", c["id"]);
        assert!(
            c["drawn"].as_u64().unwrap() >= 10,
            "{}: too little drawn: {c}",
            c["id"]
        );
        assert!(
            c["width"].as_f64().unwrap() > 100.0 && c["height"].as_f64().unwrap() > 100.0,
            "{}: not laid out: {c}",
            c["id"]
        );
    }
    let broken = browser.execute(BROKEN_IMAGES);
    assert_eq!(broken, json!([]), "broken images");
    let errors: Vec<Value> = browser
        .console()
        .into_iter()
        .filter(|e| e["level"] == "SEVERE" || e["level"] == "ERROR")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    let to = artifact(shot);
    browser.screenshot(&to);
    eprintln!("screenshot: {}", to.display());
}

#[test]
fn reports_render_in_chromium_with_every_chart_and_the_verdicts_of_results_json() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    copy_report_fixtures(dir.path());
    let run = dir.path().join("run");
    let sweep = dir.path().join("sweep");
    write_report(&run).unwrap();
    write_report(&sweep).unwrap();

    assert_page_renders(
        &browser,
        &run.join(HTML_FILE),
        &run.join("charts"),
        "run-report.png",
    );

    // The verdicts on the page, checked against results.json (not against the renderer).
    let results: Value =
        serde_json::from_slice(&std::fs::read(run.join("results.json")).unwrap()).unwrap();
    let typed = RunResults::read(&run).unwrap();
    let shown = browser.execute(VERDICTS);
    let shown = shown.as_array().unwrap();
    let strategies = results["strategies"].as_array().unwrap();
    assert_eq!(shown.len(), strategies.len(), "one verdict per strategy");
    for (s, (line, t)) in strategies.iter().zip(shown.iter().zip(&typed.strategies)) {
        let permanent: u64 = ["missing", "stale", "ghost", "duplicate"]
            .iter()
            .map(|k| s["permanent"][k].as_u64().unwrap())
            .sum();
        let worst: u64 = ["missing", "stale", "ghost", "duplicate"]
            .iter()
            .map(|k| s["worst"][k].as_u64().unwrap())
            .sum();
        let expected = if permanent > 0 {
            "loses data"
        } else if worst > 0 {
            "heals"
        } else {
            "exact"
        };
        assert_eq!(line["label"], s["label"]);
        assert_eq!(line["verdict"], expected, "{}", t.label);
        let text = line["text"].as_str().unwrap();
        if permanent > 0 {
            assert!(
                text.contains(&format!("{permanent} keys wrong for good")),
                "{}: {text}",
                t.label
            );
        }
    }

    assert_page_renders(
        &browser,
        &sweep.join(HTML_FILE),
        &sweep.join("charts"),
        "sweep-report.png",
    );
}

/// The checks above must be able to fail: a page with a broken image and a script error
/// trips both.
#[test]
fn the_browser_checks_catch_a_broken_image_and_a_console_error() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><img src=\"missing.png\">\
         <script>console.error('incrlab broken page')</script></body></html>",
    )
    .unwrap();
    browser.console();
    browser.open(&page);
    let broken = browser.execute(BROKEN_IMAGES);
    assert_eq!(broken.as_array().unwrap().len(), 1, "{broken}");
    let severe: Vec<Value> = browser
        .console()
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .collect();
    assert!(
        severe.iter().any(|e| e["message"]
            .as_str()
            .unwrap_or("")
            .contains("incrlab broken page")),
        "{severe:?}"
    );
}
