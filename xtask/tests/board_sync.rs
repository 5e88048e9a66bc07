//! `board sync` against a local mock GitHub (wiremock): an in-memory repository that answers
//! the REST endpoints sync uses with GitHub's payload shapes (issues and labels as the REST
//! docs show them, `Link` pagination), and can be told to rate-limit or fail.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};
use xtask::board::github::{GitHub, sync};
use xtask::board::sync::Action;

const BOARD: &str = "\
# The test board; this comment must survive a pull.
tasks:
  - id: alpha
    title: Alpha task
    area: titan
    status: todo
    difficulty: easy
    mentor: \"@m\"
    body: Do alpha.
  - id: beta
    title: Beta task
    area: docs
    status: done
    difficulty: hard
    mentor: \"@n\"
    labels: [help-wanted]
    body: Did beta.
";

#[derive(Default)]
struct State {
    labels: Vec<Value>,
    issues: Vec<Value>,
    rate_limit_next: u32,
    fail_always: bool,
    served: Vec<String>,
}

#[derive(Clone)]
struct FakeGitHub {
    state: Arc<Mutex<State>>,
    base: String,
}

fn label_json(id: usize, name: &str, color: &str) -> Value {
    json!({"id": id, "node_id": format!("LA_{id}"), "url": format!("https://api.github.com/repos/o/r/labels/{name}"),
           "name": name, "color": color, "default": false, "description": null})
}

fn issue_json(number: u64, title: &str, body: &str, labels: Vec<Value>) -> Value {
    json!({"id": 1000 + number, "node_id": format!("I_{number}"), "number": number,
           "url": format!("https://api.github.com/repos/o/r/issues/{number}"),
           "repository_url": "https://api.github.com/repos/o/r",
           "html_url": format!("https://github.com/o/r/issues/{number}"),
           "state": "open", "state_reason": null, "title": title, "body": body, "labels": labels,
           "user": {"login": "sig-bot", "id": 1, "type": "Bot"}, "assignees": [], "comments": 0,
           "locked": false, "created_at": "2026-11-24T12:00:00Z", "updated_at": "2026-11-24T12:00:00Z", "closed_at": null,
           "author_association": "MEMBER"})
}

fn query(req: &Request, key: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

impl FakeGitHub {
    fn page(&self, req: &Request, items: &[Value]) -> ResponseTemplate {
        let per_page: usize = query(req, "per_page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(30);
        let page: usize = query(req, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let slice: Vec<Value> = items
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .cloned()
            .collect();
        let mut resp = ResponseTemplate::new(200).set_body_json(Value::Array(slice));
        if page * per_page < items.len() {
            let mut next = req.url.clone();
            let pairs: Vec<(String, String)> = req
                .url
                .query_pairs()
                .filter(|(k, _)| k != "page")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            next.query_pairs_mut()
                .clear()
                .extend_pairs(pairs)
                .append_pair("page", &(page + 1).to_string());
            let next = format!(
                "{}{}?{}",
                self.base,
                next.path(),
                next.query().unwrap_or("")
            );
            resp = resp.insert_header("link", format!("<{next}>; rel=\"next\"").as_str());
        }
        resp
    }
}

impl Respond for FakeGitHub {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.state.lock().unwrap();
        st.served.push(format!(
            "{} {}?{}",
            req.method,
            req.url.path(),
            req.url.query().unwrap_or("")
        ));
        if st.fail_always {
            return ResponseTemplate::new(500).set_body_json(json!({"message": "Server Error"}));
        }
        if st.rate_limit_next > 0 {
            st.rate_limit_next -= 1;
            return ResponseTemplate::new(403)
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("retry-after", "1")
                .set_body_json(json!({"message": "API rate limit exceeded", "documentation_url": "https://docs.github.com/rest"}));
        }
        let path = req.url.path().to_owned();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        match (req.method.as_str(), path.as_str()) {
            ("GET", "/repos/o/r/labels") => {
                let labels = st.labels.clone();
                drop(st);
                self.page(req, &labels)
            }
            ("GET", "/repos/o/r/issues") => {
                let issues = st.issues.clone();
                drop(st);
                self.page(req, &issues)
            }
            ("POST", "/repos/o/r/labels") => {
                let l = label_json(
                    st.labels.len() + 1,
                    body["name"].as_str().unwrap(),
                    body["color"].as_str().unwrap(),
                );
                st.labels.push(l.clone());
                ResponseTemplate::new(201).set_body_json(l)
            }
            ("POST", "/repos/o/r/issues") => {
                let number = st.issues.len() as u64 + 1;
                let labels: Vec<Value> = body["labels"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .enumerate()
                    .map(|(i, n)| label_json(i, n.as_str().unwrap(), "ededed"))
                    .collect();
                let issue = issue_json(
                    number,
                    body["title"].as_str().unwrap(),
                    body["body"].as_str().unwrap(),
                    labels,
                );
                st.issues.push(issue.clone());
                ResponseTemplate::new(201).set_body_json(issue)
            }
            ("PATCH", p) if p.starts_with("/repos/o/r/issues/") => {
                let number: u64 = p.rsplit('/').next().unwrap().parse().unwrap();
                let Some(issue) = st.issues.iter_mut().find(|i| i["number"] == number) else {
                    return ResponseTemplate::new(404)
                        .set_body_json(json!({"message": "Not Found"}));
                };
                for key in ["title", "body", "state"] {
                    if let Some(v) = body.get(key) {
                        issue[key] = v.clone();
                    }
                }
                if let Some(names) = body.get("labels").and_then(|l| l.as_array()) {
                    issue["labels"] = Value::Array(
                        names
                            .iter()
                            .enumerate()
                            .map(|(i, n)| label_json(i, n.as_str().unwrap(), "ededed"))
                            .collect(),
                    );
                }
                ResponseTemplate::new(200).set_body_json(issue.clone())
            }
            _ => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
        }
    }
}

struct World {
    _server: MockServer,
    state: Arc<Mutex<State>>,
    github: GitHub,
    dir: tempfile::TempDir,
}

async fn world() -> World {
    let server = MockServer::start().await;
    let state = Arc::new(Mutex::new(State::default()));
    Mock::given(any())
        .respond_with(FakeGitHub {
            state: state.clone(),
            base: server.uri(),
        })
        .mount(&server)
        .await;
    let github = GitHub::new(&server.uri(), "secret-test-token", "o/r")
        .unwrap()
        .with_max_wait(Duration::from_millis(20));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("docs")).unwrap();
    std::fs::write(dir.path().join("docs/board.yaml"), BOARD).unwrap();
    World {
        _server: server,
        state,
        github,
        dir,
    }
}

fn root(w: &World) -> &Path {
    w.dir.path()
}

fn set_board(w: &World, text: &str) {
    std::fs::write(w.dir.path().join("docs/board.yaml"), text).unwrap();
}

#[tokio::test]
async fn first_sync_creates_labels_and_issues_and_a_second_plans_nothing() {
    let w = world().await;
    let first = sync(root(&w), &w.github, true, false).await.unwrap();
    assert!(
        first
            .plan
            .iter()
            .any(|a| matches!(a, Action::CreateLabel { .. }))
    );
    {
        let st = w.state.lock().unwrap();
        assert_eq!(st.issues.len(), 2);
        assert_eq!(
            st.issues[1]["state"], "closed",
            "the done task's issue is created closed"
        );
        assert!(st.labels.iter().any(|l| l["name"] == "area/titan"));
        assert!(
            st.issues[0]["body"]
                .as_str()
                .unwrap()
                .contains("<!-- sig-board-task: alpha -->")
        );
    }
    let second = sync(root(&w), &w.github, true, false).await.unwrap();
    assert_eq!(second.plan, vec![], "a second sync plans nothing");
    assert!(second.table.contains("nothing to do"));
}

#[tokio::test]
async fn an_edited_title_is_updated() {
    let w = world().await;
    sync(root(&w), &w.github, true, false).await.unwrap();
    set_board(
        &w,
        &BOARD.replace("title: Alpha task", "title: Alpha task, sharper"),
    );
    let out = sync(root(&w), &w.github, true, false).await.unwrap();
    assert!(
        matches!(&out.plan[..], [Action::UpdateIssue { number: 1, .. }]),
        "{:?}",
        out.plan
    );
    assert_eq!(
        w.state.lock().unwrap().issues[0]["title"],
        "Alpha task, sharper"
    );
}

#[tokio::test]
async fn a_task_marked_done_closes_its_issue() {
    let w = world().await;
    sync(root(&w), &w.github, true, false).await.unwrap();
    set_board(&w, &BOARD.replacen("status: todo", "status: done", 1));
    let out = sync(root(&w), &w.github, true, false).await.unwrap();
    assert!(
        out.plan.contains(&Action::CloseIssue {
            number: 1,
            task: "alpha".into()
        }),
        "{:?}",
        out.plan
    );
    assert_eq!(w.state.lock().unwrap().issues[0]["state"], "closed");
}

#[tokio::test]
async fn an_issue_closed_on_github_is_reported_and_pulled() {
    let w = world().await;
    sync(root(&w), &w.github, true, false).await.unwrap();
    w.state.lock().unwrap().issues[0]["state"] = json!("closed");
    let dry = sync(root(&w), &w.github, false, false).await.unwrap();
    assert_eq!(
        dry.plan,
        vec![Action::ClosedOnGitHub {
            number: 1,
            task: "alpha".into()
        }]
    );
    assert!(dry.table.contains("closed on GitHub"), "{}", dry.table);
    let pulled = sync(root(&w), &w.github, false, true).await.unwrap();
    assert_eq!(pulled.pulled, vec!["alpha".to_string()]);
    let yaml = std::fs::read_to_string(root(&w).join("docs/board.yaml")).unwrap();
    assert!(yaml.starts_with("# The test board; this comment must survive a pull."));
    assert_eq!(yaml.matches("status: done").count(), 2, "{yaml}");
}

#[tokio::test]
async fn pagination_over_two_pages_finds_every_issue() {
    let w = world().await;
    {
        let mut st = w.state.lock().unwrap();
        for n in 1..=150u64 {
            st.issues
                .push(issue_json(n, &format!("unrelated {n}"), "", vec![]));
        }
    }
    sync(root(&w), &w.github, true, false).await.unwrap();
    let second = sync(root(&w), &w.github, true, false).await.unwrap();
    assert_eq!(
        second.plan,
        vec![],
        "the board's issues (151 and 152) are found on page 2"
    );
    let served = w.state.lock().unwrap().served.clone();
    assert!(
        served
            .iter()
            .any(|r| r.starts_with("GET /repos/o/r/issues") && r.contains("page=2")),
        "{served:?}"
    );
}

#[tokio::test]
async fn a_rate_limit_is_waited_out() {
    let w = world().await;
    w.state.lock().unwrap().rate_limit_next = 2;
    let out = sync(root(&w), &w.github, false, false).await.unwrap();
    assert!(!out.plan.is_empty());
    let served = w.state.lock().unwrap().served.len();
    assert!(
        served >= 4,
        "two 403s, then the label and issue listings: {served} requests"
    );
}

#[tokio::test]
async fn a_server_error_that_never_recovers_fails_clearly_and_leaves_the_yaml_untouched() {
    let w = world().await;
    w.state.lock().unwrap().fail_always = true;
    let before = std::fs::read(root(&w).join("docs/board.yaml")).unwrap();
    let err = sync(root(&w), &w.github, true, true)
        .await
        .err()
        .expect("the sync fails")
        .to_string();
    assert!(
        err.contains("500")
            && err.contains("after 4 attempts")
            && err.contains("/repos/o/r/labels"),
        "{err}"
    );
    assert!(
        !err.contains("secret-test-token"),
        "the token is never printed: {err}"
    );
    assert_eq!(
        std::fs::read(root(&w).join("docs/board.yaml")).unwrap(),
        before,
        "the YAML is untouched"
    );
}
