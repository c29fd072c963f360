//! The console in a real browser: headless Chromium driven through chromedriver (fantoccini),
//! finding everything by the labels and names SPEC §6 gives, with axe-core run in every page
//! it visits (0 serious or critical violations), each step checked through the JSON API.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them) and axe-core from
//! the npm registry (`tests/console/package.json`; installed into `tests/console/node_modules`
//! by `.ci/run`, or by this test when missing). Without them the test fails, saying so.
//! `SCREENSHOTS=1` also writes `docs/console/*.png` (待办, a need, a person and the coverage
//! report, 360 and 1280 px wide).

#[path = "../api/support.rs"]
mod support;

use fantoccini::{elements::Element, Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console")
}

/// axe-core's source, installed with npm when missing.
fn axe_source() -> String {
    let file = here().join("node_modules/axe-core/axe.min.js");
    if !file.exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(here())
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "axe-core is missing and `npm ci` in tests/console failed ({status:?}): install Node.js and npm, or run `npm ci --prefix tests/console`"
        );
    }
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn start_driver() -> (Driver, PathBuf) {
    let missing = "headless Chromium is needed for the console's browser test: \
                   `apt-get install -y chromium chromium-driver` (.ci/run installs them when missing)";
    let driver = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| find_program(&["chromedriver"]))
        .unwrap_or_else(|| panic!("no chromedriver: {missing}"));
    let browser = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| find_program(&["chromium", "chromium-browser", "google-chrome"]))
        .unwrap_or_else(|| panic!("no chromium: {missing}"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let child = Command::new(&driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
    let d = Driver { child, port };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (d, browser)
}

async fn browser(driver: &Driver, chromium: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--lang=zh-CN", "--window-size=360,740", "--hide-scrollbars"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a chromium session")
}

/// The browser, the app, axe-core, and what axe found.
struct Session {
    c: Client,
    base: String,
    axe: String,
    problems: Vec<String>,
    pages: usize,
}

fn lit(text: &str) -> String {
    // an XPath string literal (our labels hold no quotes)
    format!("'{text}'")
}

impl Session {
    async fn open(&mut self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("goto");
        self.check().await;
    }

    /// Runs axe-core in the current page; keeps its serious and critical violations.
    async fn check(&mut self) {
        let loaded = self
            .c
            .execute("return typeof window.axe !== 'undefined';", vec![])
            .await
            .expect("probe axe");
        if loaded != Value::Bool(true) {
            self.c.execute(&self.axe, vec![]).await.expect("inject axe");
        }
        let found = self
            .c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("axe.run");
        let url = self
            .c
            .current_url()
            .await
            .map(|u| u.path().to_string())
            .unwrap_or_default();
        for v in found.as_array().cloned().unwrap_or_default() {
            self.problems
                .push(format!("{url}: {}", v.as_str().unwrap_or("")));
        }
        self.pages += 1;
    }

    /// The control labelled `label` (inside `scope` when given).
    async fn field(&self, scope: Option<&Element>, label: &str) -> Element {
        let xpath = format!(".//label[normalize-space()={}]", lit(label));
        let l = match scope {
            Some(s) => s.find(Locator::XPath(&xpath)).await,
            None => self.c.find(Locator::XPath(&xpath[1..])).await,
        }
        .unwrap_or_else(|e| panic!("no label {label}: {e}"));
        let id = l.attr("for").await.ok().flatten().expect("label for");
        self.c
            .find(Locator::Id(&id))
            .await
            .unwrap_or_else(|e| panic!("no control for {label}: {e}"))
    }

    async fn fill(&self, scope: Option<&Element>, label: &str, text: &str) {
        self.field(scope, label)
            .await
            .send_keys(text)
            .await
            .expect("type");
    }

    async fn choose(&self, scope: Option<&Element>, label: &str, option: &str) {
        self.field(scope, label)
            .await
            .select_by_label(option)
            .await
            .unwrap_or_else(|e| panic!("{label}: no option {option}: {e}"));
    }

    /// The form whose button is named `button`.
    async fn form(&self, button: &str) -> Element {
        let xpath = format!("//form[.//button[normalize-space()={}]]", lit(button));
        self.c
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no form with a button {button}: {e}"))
    }

    async fn press(&self, button: &str) {
        let xpath = format!("//button[normalize-space()={}]", lit(button));
        self.c
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button {button}: {e}"))
            .click()
            .await
            .expect("click");
    }

    async fn follow(&mut self, link: &str) {
        self.c
            .find(Locator::LinkText(link))
            .await
            .unwrap_or_else(|e| panic!("no link {link}: {e}"))
            .click()
            .await
            .expect("click");
    }

    /// Waits until the page's `h1` (or its status message) reads `text`; then runs axe.
    async fn arrive(&mut self, css: &str, text: &str) {
        let started = Instant::now();
        loop {
            if let Ok(e) = self.c.find(Locator::Css(css)).await {
                if e.text().await.is_ok_and(|t| t.contains(text)) {
                    break;
                }
            }
            let src = self.c.source().await.unwrap_or_default();
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "never saw {css} reading {text}; page: {src}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.check().await;
    }

    async fn sign_in(&mut self, user: &str) {
        self.sign_in_to(user, "待办").await;
    }

    /// Signs in and waits for the start page titled `heading`.
    async fn sign_in_to(&mut self, user: &str, heading: &str) {
        self.open("/login").await;
        self.fill(None, "用户名", user).await;
        self.fill(None, "密码", PASSWORD).await;
        self.press("登录").await;
        self.arrive("h1", heading).await;
    }

    async fn sign_out(&mut self) {
        self.press("退出").await;
        self.arrive("h1", "登录").await;
    }

    /// Full-page screenshots at 360 and 1280 px into docs/console/ (SCREENSHOTS=1 only).
    async fn screenshots(&self, name: &str) {
        if std::env::var_os("SCREENSHOTS").is_none() {
            return;
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/console");
        std::fs::create_dir_all(&dir).expect("docs/console");
        for width in [360u32, 1280] {
            viewport(&self.c, width, 740).await;
            self.c
                .execute(
                    "window.scrollTo(0, 0); document.activeElement && document.activeElement.blur();",
                    vec![],
                )
                .await
                .expect("scroll");
            let height = self
                .c
                .execute("return document.documentElement.scrollHeight;", vec![])
                .await
                .ok()
                .and_then(|v| v.as_u64())
                .unwrap_or(740) as u32;
            viewport(&self.c, width, height.clamp(740, 4000)).await;
            let png = self.c.screenshot().await.expect("screenshot");
            std::fs::write(dir.join(format!("{name}-{width}.png")), png).expect("write png");
        }
        viewport(&self.c, 360, 740).await;
    }
}

/// Sizes the window so that its viewport is `width` × `height`.
async fn viewport(c: &Client, width: u32, height: u32) {
    c.set_window_size(width, height).await.expect("resize");
    let inner = c
        .execute("return window.innerHeight;", vec![])
        .await
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(u64::from(height)) as u32;
    let extra = height.saturating_sub(inner);
    if extra > 0 {
        c.set_window_size(width, height + extra)
            .await
            .expect("resize");
    }
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_need_travels_the_social_loop_through_the_console_in_a_browser() {
    let (driver, chromium) = start_driver();
    let axe = axe_source();
    let w = world().await;
    let c = browser(&driver, &chromium).await;
    viewport(&c, 360, 740).await;
    let mut b = Session {
        c,
        base: w.app.base.clone(),
        axe,
        problems: Vec::new(),
        pages: 0,
    };
    // helpers of the village for the 三帮一; a person of the next village already covered
    for name in ["张秀英", "李建国", "刘芳"] {
        w.helper("village_v1", "v1", name).await;
    }
    let next = w.person("village_v2", "v2", 102).await;
    let mut theirs = Vec::new();
    for name in ["陈志强", "周丽", "吴海"] {
        theirs.push(w.helper("village_v2", "v2", name).await.to_string());
    }
    w.app
        .put(
            &format!("/persons/{}/contact-group", s(&next, "id")),
            w.tok("village_v2"),
            json!({ "helper_ids": theirs }),
        )
        .await
        .expect(200);
    let api = |path: String| {
        let w = &w;
        async move { w.app.get(&path, w.tok("root")).await.expect(200).clone() }
    };

    // a village worker on a phone signs in and registers a person
    b.sign_in("village_v1").await;
    let size =
        b.c.execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .expect("size");
    assert_eq!(size, json!([360, 740]), "a 360 × 740 viewport");
    b.follow("残疾人").await;
    b.arrive("h1", "残疾人").await;
    b.follow("登记残疾人").await;
    b.arrive("h1", "登记残疾人").await;
    b.fill(None, "姓名", "王秀兰").await;
    // the ID number is checked as it is typed, and what is found is read out (aria-live)
    let mut wrong = id_number(100);
    let last = wrong.pop();
    wrong.push(if last == Some('0') { '1' } else { '0' });
    b.fill(None, "身份证号", &wrong).await;
    b.arrive("#person-id-number-check", "校验位不对").await;
    let id_field = b.field(None, "身份证号").await;
    let described = id_field.attr("aria-describedby").await.ok().flatten();
    assert!(
        described.is_some_and(|d| d.contains("person-id-number-check")),
        "the message is linked to the field"
    );
    assert_eq!(
        id_field
            .attr("aria-invalid")
            .await
            .ok()
            .flatten()
            .as_deref(),
        Some("true")
    );
    id_field.clear().await.expect("clear");
    b.fill(None, "身份证号", &id_number(100)).await;
    b.arrive("#person-id-number-check", "正确").await;
    b.choose(None, "残疾类别", "肢体残疾").await;
    b.choose(None, "残疾等级", "2 级").await;
    b.press("保存").await;
    b.arrive("h1", "王秀兰").await;
    let people = api("/persons?q=王秀兰".into()).await;
    let person = s(&people["items"][0], "id");
    assert!(!person.is_empty(), "registered: {people}");

    // files a need (the button pressed twice: one need)
    b.follow("新建诉求").await;
    b.arrive("h1", "新建诉求").await;
    b.choose(None, "类别", "辅具").await;
    b.fill(None, "诉求内容", "需要一台轮椅").await;
    let submit =
        b.c.find(Locator::XPath("//button[normalize-space()='提交']"))
            .await
            .expect("提交");
    b.c.execute(
        "arguments[0].click(); arguments[0].click();",
        vec![serde_json::to_value(&submit).expect("element")],
    )
    .await
    .expect("double click");
    b.arrive("[role=status]", "诉求已提交").await;
    let needs = api(format!("/needs?person_id={person}")).await;
    assert_eq!(item_ids(&needs).len(), 1, "one need: {needs}");
    let id = item_ids(&needs).remove(0);
    let case = s(&needs["items"][0], "case_number");
    let page = b.c.source().await.expect("source");
    assert!(page.contains(&case), "the case number is on the page");

    // registers it into the social loop and escalates it
    let f = b.form("登记").await;
    b.choose(Some(&f), "闭环", "社会闭环").await;
    b.press("登记").await;
    b.arrive("[role=status]", "已登记").await;
    let n = api(format!("/needs/{id}")).await;
    assert_eq!(
        (s(&n, "state"), s(&n, "loop")),
        ("registered".into(), "social".into())
    );
    let f = b.form("上报").await;
    b.fill(Some(&f), "原因", "村里解决不了").await;
    b.press("上报").await;
    b.arrive("[role=status]", "已上报").await;
    let n = api(format!("/needs/{id}")).await;
    assert_eq!(
        (s(&n, "state"), s(&n, "level")),
        ("escalated".into(), "town".into())
    );

    // the person's page: 三帮一 set through its form, a visit recorded, the ID number revealed
    b.open(&format!("/persons/{person}")).await;
    b.follow("设置三帮一").await;
    b.arrive("h1", "设置三帮一").await;
    for (label, name) in [
        ("帮扶人一", "张秀英"),
        ("帮扶人二", "李建国"),
        ("帮扶人三", "刘芳"),
    ] {
        b.choose(None, label, &format!("{name}（志愿者）")).await;
    }
    b.press("保存").await;
    b.arrive("[role=status]", "三帮一已设置").await;
    let group = api(format!("/persons/{person}/contact-group")).await;
    assert_eq!(group["complete"], json!(true));
    b.choose(None, "帮扶人", "李建国").await;
    b.fill(None, "走访情况", "上门看望，轮椅的事已经上报镇里")
        .await;
    b.press("记录走访").await;
    b.arrive("[role=status]", "走访已记录").await;
    let visits = api(format!("/persons/{person}/visits")).await;
    assert_eq!(item_ids(&visits).len(), 1, "one visit: {visits}");
    // the scanned certificate, attached through the page's file field
    let dir = std::env::temp_dir().join(format!("zhucan-console-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let scan = dir.join("残疾证.pdf");
    std::fs::write(&scan, b"%PDF-1.4\n% certificate scan\n%%EOF\n").expect("scan");
    b.field(None, "选择文件")
        .await
        .send_keys(&scan.display().to_string())
        .await
        .expect("choose the file");
    b.press("上传附件").await;
    b.arrive("[role=status]", "附件已上传").await;
    let files = api(format!("/persons/{person}/attachments")).await;
    assert_eq!(s(&files["items"][0], "filename"), "残疾证.pdf", "{files}");
    assert_eq!(s(&files["items"][0], "content_type"), "application/pdf");
    b.screenshots("person").await;
    b.press("查看完整身份证号").await;
    b.arrive("[role=status]", "审计日志").await;
    let page = b.c.source().await.expect("source");
    assert!(page.contains(&id_number(100)), "revealed");
    b.sign_out().await;

    // another need of the village, escalated long ago and overdue now (red, and said in words)
    let other = w.person("village_v1", "v1", 101).await;
    let late = s(&w.need("village_v1", &s(&other, "id")).await, "id");
    w.step("village_v1", &late, "register", json!({"loop": "social"}))
        .await;
    w.step(
        "village_v1",
        &late,
        "escalate",
        json!({"reason": "需要镇里协调"}),
    )
    .await;
    w.app
        .sql(&format!(
            "UPDATE needs SET due_at = now() - interval '2 hours' WHERE id = '{late}'"
        ))
        .await;

    // the town staffer finds it in 待办, signs for it and resolves it
    b.sign_in("town_t1").await;
    let inbox = b.c.source().await.expect("source");
    assert!(
        inbox.contains("已超时"),
        "the overdue need says so in words"
    );
    b.screenshots("inbox").await;
    b.follow(&case).await;
    b.arrive("h1", &case).await;
    b.press("签收").await;
    b.arrive("[role=status]", "已签收").await;
    assert_eq!(
        s(&api(format!("/needs/{id}")).await, "state"),
        "in_progress"
    );
    let f = b.form("办结").await;
    b.choose(Some(&f), "结果", "已解决").await;
    b.fill(Some(&f), "处理说明", "协调爱心企业送来轮椅").await;
    b.screenshots("need").await;
    b.press("办结").await;
    b.arrive("[role=status]", "已办结").await;
    let n = api(format!("/needs/{id}")).await;
    assert_eq!(
        (s(&n, "state"), s(&n, "outcome")),
        ("resolved".into(), "fulfilled".into())
    );

    // the coverage report of the town, with its villages; SLA; a village's own report
    b.follow("报表").await;
    b.arrive("h1", "三帮一覆盖率报表").await;
    let chart =
        b.c.find(Locator::Css("svg[role=img]"))
            .await
            .expect("the chart");
    let said = chart
        .attr("aria-label")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    assert!(
        said.contains("东关社区 50.0%") && said.contains("西关社区 100.0%"),
        "{said}"
    );
    b.screenshots("coverage").await;
    b.follow("办结时效").await;
    b.arrive("h1", "办结时效报表").await;
    b.follow("东关社区").await;
    b.arrive(".unit", "东关社区").await;

    // notifications: the escalation is there, unread; marked read
    b.open("/notifications").await;
    b.press("标为已读").await;
    b.arrive(".badge.read", "已读").await;
    b.sign_out().await;

    // the village worker follows up: satisfied, and it is closed
    b.sign_in("village_v1").await;
    b.follow(&case).await;
    b.arrive("h1", &case).await;
    let f = b.form("回访").await;
    b.choose(Some(&f), "是否满意", "满意").await;
    b.choose(Some(&f), "满意度", "5 分（很满意）").await;
    b.press("回访").await;
    b.arrive("[role=status]", "已回访").await;
    let n = api(format!("/needs/{id}")).await;
    assert_eq!(
        (s(&n, "state"), n["satisfaction"].as_i64()),
        ("closed".into(), Some(5))
    );
    b.open("/notifications").await;
    b.sign_out().await;

    // a helper on a phone: its persons, 反映诉求 for one of them, 记录走访
    let me = w.helper_record("helper_v1").await;
    let cared = w.person("village_v1", "v1", 103).await;
    let cared_id = s(&cared, "id");
    let mates = [
        w.helper("village_v1", "v1", "赵敏").await,
        w.helper("village_v1", "v1", "孙强").await,
    ];
    w.app
        .put(
            &format!("/persons/{cared_id}/contact-group"),
            w.tok("village_v1"),
            json!({ "helper_ids": [me, mates[0], mates[1]] }),
        )
        .await
        .expect(200);
    b.sign_in_to("helper_v1", "我的帮扶对象").await;
    let mine = b.c.source().await.expect("source");
    assert!(mine.contains(&s(&cared, "name")), "its person is listed");
    assert!(!mine.contains("王秀兰"), "a person of another group is not");
    b.screenshots("mine").await;
    b.follow("反映诉求").await;
    b.arrive("h1", "新建诉求").await;
    b.choose(None, "类别", "医疗").await;
    b.fill(None, "诉求内容", "老人发烧两天，需要陪同就医").await;
    b.press("提交").await;
    b.arrive("[role=status]", "诉求已提交").await;
    let reported = api(format!("/needs?person_id={cared_id}")).await;
    assert_eq!(item_ids(&reported).len(), 1, "{reported}");
    assert_eq!(
        s(&reported["items"][0], "reporting_helper_id"),
        me.to_string()
    );
    b.open(&format!("/persons/{cared_id}")).await;
    b.fill(None, "走访情况", "已陪同就医，情况好转").await;
    b.press("记录走访").await;
    b.arrive("[role=status]", "走访已记录").await;
    let visits = api(format!("/persons/{cared_id}/visits")).await;
    assert_eq!(s(&visits["items"][0], "helper_id"), me.to_string());

    let pages = b.pages;
    let problems = std::mem::take(&mut b.problems);
    b.c.close().await.expect("close");
    assert!(pages >= 25, "axe ran on {pages} pages");
    assert!(
        problems.is_empty(),
        "axe-core, serious or critical:\n{}",
        problems.join("\n")
    );
}
