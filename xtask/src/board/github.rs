//! The GitHub half of `board sync`: octocrab against the REST API.
//!
//! Raw requests (`_get`, `_post`, `_patch`) keep status codes and headers in view, so this
//! module owns pagination (the `Link` header's `rel="next"`) and retries: 403/429 rate limits
//! wait for `retry-after` or `x-ratelimit-reset` (capped), 5xx back off; both give up after a
//! bounded number of attempts with an error naming the request. The token goes to octocrab
//! as a secret and is never printed.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::sync::{Action, RemoteIssue, RemoteLabel, plan, pull, render_plan};

/// A GitHub repository reached through octocrab.
pub struct GitHub {
    client: octocrab::Octocrab,
    repo: String,
    attempts: u32,
    max_wait: Duration,
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
    Patch,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
}

/// The `rel="next"` target of a `Link` header, as a path with query.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',')
        .find(|part| part.contains("rel=\"next\""))
        .and_then(|part| {
            let url = part
                .split(';')
                .next()?
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>');
            let path_start = url.find("/repos/")?;
            Some(url[path_start..].to_owned())
        })
}

/// How long GitHub asks us to wait, from `retry-after` or `x-ratelimit-reset`.
fn rate_limit_wait(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    if let Some(secs) = header("retry-after") {
        return Some(Duration::from_secs(secs));
    }
    if header("x-ratelimit-remaining") == Some(0) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        return Some(Duration::from_secs(
            header("x-ratelimit-reset")
                .unwrap_or(now)
                .saturating_sub(now),
        ));
    }
    // A 403 without rate-limit headers is a permission problem: do not retry.
    (status == StatusCode::TOO_MANY_REQUESTS).then_some(Duration::from_secs(1))
}

impl GitHub {
    /// A client for `repo` (`OWNER/NAME`) at `api_url` (`https://api.github.com`, or a mock).
    pub fn new(api_url: &str, token: &str, repo: &str) -> Result<GitHub> {
        if repo.split('/').count() != 2 || repo.starts_with('/') || repo.ends_with('/') {
            bail!("--repo must be OWNER/NAME, got {repo:?}");
        }
        let client = octocrab::Octocrab::builder()
            .base_uri(api_url)
            .with_context(|| format!("bad GitHub API URL {api_url:?}"))?
            .personal_token(token.to_owned())
            .build()
            .context("building the GitHub client")?;
        Ok(GitHub {
            client,
            repo: repo.to_owned(),
            attempts: 4,
            max_wait: Duration::from_secs(60),
        })
    }

    /// Caps each rate-limit wait (tests use a small cap).
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(HeaderMap, String)> {
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            let response = match method {
                Method::Get => self.client._get(path).await,
                Method::Post => self.client._post(path, body).await,
                Method::Patch => self.client._patch(path, body).await,
            }
            .with_context(|| format!("GitHub {} {path}: the request failed", method.name()))?;
            let status = response.status();
            let headers = response.headers().clone();
            let text = self
                .client
                .body_to_string(response)
                .await
                .unwrap_or_default();
            if status.is_success() {
                return Ok((headers, text));
            }
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or_default();
            last = format!("{status} {message}");
            let wait = if let Some(w) = rate_limit_wait(status, &headers) {
                w.min(self.max_wait)
            } else if status.is_server_error() {
                Duration::from_millis(200 * u64::from(attempt)).min(self.max_wait)
            } else {
                bail!("GitHub {} {path}: {last}", method.name());
            };
            if attempt < self.attempts {
                eprintln!(
                    "board sync: GitHub {} {path}: {last}; retrying in {:.1}s",
                    method.name(),
                    wait.as_secs_f64()
                );
                tokio::time::sleep(wait).await;
            }
        }
        bail!(
            "GitHub {} {path}: still {last} after {} attempts",
            method.name(),
            self.attempts
        )
    }

    async fn get_all(&self, first: String) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(path) = next {
            let (headers, text) = self.request(Method::Get, &path, None).await?;
            let page: Vec<Value> = serde_json::from_str(&text)
                .with_context(|| format!("GitHub GET {path}: not a JSON array"))?;
            out.extend(page);
            next = next_link(&headers);
        }
        Ok(out)
    }

    /// Every label of the repository.
    pub async fn labels(&self) -> Result<Vec<RemoteLabel>> {
        let all = self
            .get_all(format!("/repos/{}/labels?per_page=100", self.repo))
            .await?;
        Ok(all
            .iter()
            .filter_map(|l| {
                Some(RemoteLabel {
                    name: l["name"].as_str()?.to_owned(),
                })
            })
            .collect())
    }

    /// Every issue, open and closed (pull requests left out).
    pub async fn issues(&self) -> Result<Vec<RemoteIssue>> {
        let all = self
            .get_all(format!(
                "/repos/{}/issues?state=all&per_page=100",
                self.repo
            ))
            .await?;
        Ok(all
            .iter()
            .filter(|i| i.get("pull_request").is_none())
            .filter_map(|i| {
                Some(RemoteIssue {
                    number: i["number"].as_u64()?,
                    title: i["title"].as_str()?.to_owned(),
                    body: i["body"].as_str().unwrap_or_default().to_owned(),
                    open: i["state"].as_str()? == "open",
                    labels: i["labels"]
                        .as_array()?
                        .iter()
                        .filter_map(|l| l["name"].as_str().map(str::to_owned))
                        .collect(),
                })
            })
            .collect())
    }

    /// Carries out `actions` in order (reports are skipped).
    pub async fn apply(&self, actions: &[Action]) -> Result<()> {
        let issue_path = |n: u64| format!("/repos/{}/issues/{n}", self.repo);
        for a in actions {
            match a {
                Action::CreateLabel { name, color } => {
                    self.request(
                        Method::Post,
                        &format!("/repos/{}/labels", self.repo),
                        Some(&json!({"name": name, "color": color})),
                    )
                    .await?;
                }
                Action::CreateIssue {
                    title,
                    body,
                    labels,
                    closed,
                    ..
                } => {
                    let (_, text) = self
                        .request(
                            Method::Post,
                            &format!("/repos/{}/issues", self.repo),
                            Some(&json!({"title": title, "body": body, "labels": labels})),
                        )
                        .await?;
                    if *closed {
                        let number = serde_json::from_str::<Value>(&text)?["number"]
                            .as_u64()
                            .context("GitHub returned no issue number")?;
                        self.request(
                            Method::Patch,
                            &issue_path(number),
                            Some(&json!({"state": "closed"})),
                        )
                        .await?;
                    }
                }
                Action::UpdateIssue {
                    number,
                    title,
                    body,
                    labels,
                    ..
                } => {
                    self.request(
                        Method::Patch,
                        &issue_path(*number),
                        Some(&json!({"title": title, "body": body, "labels": labels})),
                    )
                    .await?;
                }
                Action::CloseIssue { number, .. } => {
                    self.request(
                        Method::Patch,
                        &issue_path(*number),
                        Some(&json!({"state": "closed"})),
                    )
                    .await?;
                }
                Action::ReopenIssue { number, .. } => {
                    self.request(
                        Method::Patch,
                        &issue_path(*number),
                        Some(&json!({"state": "open"})),
                    )
                    .await?;
                }
                Action::ClosedOnGitHub { .. } => {}
            }
        }
        Ok(())
    }
}

/// What a sync did.
pub struct SyncOutcome {
    /// The plan, as computed before applying.
    pub plan: Vec<Action>,
    /// The plan as a table.
    pub table: String,
    /// Tasks whose closing on GitHub was written back into the YAML.
    pub pulled: Vec<String>,
}

/// `board sync`: plan against GitHub, apply with `apply`, write GitHub's closes back into
/// `docs/board.yaml` with `pull`. The YAML is written last, only when everything before
/// succeeded, so a failed sync leaves it as it was.
pub async fn sync(
    root: &Path,
    github: &GitHub,
    apply: bool,
    pull_back: bool,
) -> Result<SyncOutcome> {
    let yaml_path = root.join("docs/board.yaml");
    let yaml = std::fs::read_to_string(&yaml_path)
        .with_context(|| format!("reading {}", yaml_path.display()))?;
    let board = super::parse(&yaml, "docs/board.yaml")?;
    let labels = github.labels().await?;
    let issues = github.issues().await?;
    let actions = plan(&board, &labels, &issues);
    let table = render_plan(&actions);
    if apply {
        github.apply(&actions).await?;
    }
    let mut pulled = Vec::new();
    if pull_back {
        let closed: Vec<&str> = actions
            .iter()
            .filter_map(|a| match a {
                Action::ClosedOnGitHub { task, .. } => Some(task.as_str()),
                _ => None,
            })
            .collect();
        if !closed.is_empty() {
            let updated = pull(&yaml, &closed)?;
            std::fs::write(&yaml_path, updated)
                .with_context(|| format!("writing {}", yaml_path.display()))?;
            pulled = closed.iter().map(|s| s.to_string()).collect();
        }
    }
    Ok(SyncOutcome {
        plan: actions,
        table,
        pulled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            "<https://api.github.com/repos/o/r/issues?page=1>; rel=\"prev\", <https://api.github.com/repos/o/r/issues?state=all&page=3>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("/repos/o/r/issues?state=all&page=3")
        );
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn rate_limit_waits_come_from_headers_and_plain_403_is_final() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(
            rate_limit_wait(StatusCode::FORBIDDEN, &h),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            rate_limit_wait(StatusCode::FORBIDDEN, &HeaderMap::new()),
            None,
            "a 403 without rate-limit headers is a permission error"
        );
        assert_eq!(rate_limit_wait(StatusCode::NOT_FOUND, &h), None);
    }
}
