//! The planning half of `board sync`: what GitHub must change to match `docs/board.yaml`,
//! and what changed on GitHub that the YAML does not know.
//!
//! Pure functions over plain data, so every rule is tested without a network. The transport
//! (octocrab against the REST API, pagination, rate limits, retries) feeds [`RemoteIssue`]s
//! and [`RemoteLabel`]s in and applies the [`Action`]s.
//!
//! Matching: each issue body ends with a hidden marker, `<!-- sig-board-task: ID -->`, so a
//! task finds its issue whatever its title became. Labels: `area/*`, `status/*`,
//! `difficulty/*`, plus the task's own. A closed issue whose `status/*` label is not
//! `status/done` was closed on GitHub (reported, and written back by `--pull`); one labelled
//! `status/done` whose task is no longer done was reopened in the YAML (reopened on GitHub).

use std::fmt::Write as _;

use anyhow::{Result, bail};

use super::{Board, Status, Task};

/// The marker that ties an issue to task `id`.
pub fn marker(id: &str) -> String {
    format!("<!-- sig-board-task: {id} -->")
}

/// The task id in an issue body's marker, if any.
pub fn task_id_of(body: &str) -> Option<&str> {
    let rest = &body[body.find("<!-- sig-board-task: ")? + "<!-- sig-board-task: ".len()..];
    rest.split(" -->")
        .next()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An issue as GitHub returns it (the fields sync reads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteIssue {
    /// Issue number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body (may be empty).
    pub body: String,
    /// Whether the issue is open.
    pub open: bool,
    /// Label names.
    pub labels: Vec<String>,
}

/// A label as GitHub returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteLabel {
    /// Name.
    pub name: String,
}

/// One change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create a label.
    CreateLabel {
        /// Name.
        name: String,
        /// Hex colour without `#`.
        color: &'static str,
    },
    /// Create the issue of a task.
    CreateIssue {
        /// Task id.
        task: String,
        /// Title.
        title: String,
        /// Body, marker included.
        body: String,
        /// Labels.
        labels: Vec<String>,
        /// Whether it is created closed (a task already done).
        closed: bool,
    },
    /// Bring an issue's title, body or labels in line with its task.
    UpdateIssue {
        /// Issue number.
        number: u64,
        /// Task id.
        task: String,
        /// What differs: `title`, `body`, `labels`.
        fields: Vec<&'static str>,
        /// New title.
        title: String,
        /// New body.
        body: String,
        /// New labels.
        labels: Vec<String>,
    },
    /// Close the issue of a task marked done.
    CloseIssue {
        /// Issue number.
        number: u64,
        /// Task id.
        task: String,
    },
    /// Reopen the issue of a task reopened in the YAML.
    ReopenIssue {
        /// Issue number.
        number: u64,
        /// Task id.
        task: String,
    },
    /// Not a change: an issue closed on GitHub whose task the YAML still has open.
    ClosedOnGitHub {
        /// Issue number.
        number: u64,
        /// Task id.
        task: String,
    },
}

fn status_label(s: Status) -> &'static str {
    match s {
        Status::Todo => "status/todo",
        Status::InProgress => "status/in-progress",
        Status::Done => "status/done",
    }
}

/// The labels a task's issue carries, sorted.
pub fn labels_of(task: &Task) -> Vec<String> {
    let mut l = vec![
        format!("area/{}", super::area_name(task.area)),
        status_label(task.status).to_owned(),
        format!("difficulty/{}", super::difficulty_name(task.difficulty)),
    ];
    l.extend(task.labels.iter().cloned());
    l.sort();
    l.dedup();
    l
}

/// The body of a task's issue: the task's body, its mentor and links, and the marker.
pub fn body_of(task: &Task) -> String {
    let mut b = task.body.trim_end().to_owned();
    let _ = write!(b, "\n\nMentor: {}", task.mentor);
    if !task.links.is_empty() {
        let _ = write!(b, "\nLinks: {}", task.links.join(", "));
    }
    let _ = write!(b, "\n\n{}", marker(&task.id));
    b
}

fn label_color(name: &str) -> &'static str {
    match name.split('/').next().unwrap_or("") {
        "area" => "1d76db",
        "status" => "fbca04",
        "difficulty" => "5319e7",
        _ => "ededed",
    }
}

/// The plan: labels to create, then per task (in file order) the issue change it needs.
pub fn plan(board: &Board, labels: &[RemoteLabel], issues: &[RemoteIssue]) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut wanted: Vec<String> = board.tasks.iter().flat_map(labels_of).collect();
    wanted.sort();
    wanted.dedup();
    for name in wanted {
        if !labels.iter().any(|l| l.name == name) {
            actions.push(Action::CreateLabel {
                color: label_color(&name),
                name,
            });
        }
    }
    for task in &board.tasks {
        let (title, body, labels) = (task.title.clone(), body_of(task), labels_of(task));
        let done = task.status == Status::Done;
        let Some(issue) = issues
            .iter()
            .find(|i| task_id_of(&i.body) == Some(task.id.as_str()))
        else {
            actions.push(Action::CreateIssue {
                task: task.id.clone(),
                title,
                body,
                labels,
                closed: done,
            });
            continue;
        };
        let was_done_here = issue.labels.iter().any(|l| l == "status/done");
        if !issue.open && !done && !was_done_here {
            // Closed on GitHub; the YAML has not heard. Report it and change nothing else.
            actions.push(Action::ClosedOnGitHub {
                number: issue.number,
                task: task.id.clone(),
            });
            continue;
        }
        let mut remote_labels = issue.labels.clone();
        remote_labels.sort();
        let mut fields = Vec::new();
        if issue.title != title {
            fields.push("title");
        }
        if issue.body.trim_end() != body {
            fields.push("body");
        }
        if remote_labels != labels {
            fields.push("labels");
        }
        if !fields.is_empty() {
            actions.push(Action::UpdateIssue {
                number: issue.number,
                task: task.id.clone(),
                fields,
                title,
                body,
                labels,
            });
        }
        if done && issue.open {
            actions.push(Action::CloseIssue {
                number: issue.number,
                task: task.id.clone(),
            });
        } else if !done && !issue.open {
            actions.push(Action::ReopenIssue {
                number: issue.number,
                task: task.id.clone(),
            });
        }
    }
    actions
}

/// The plan as a table for the terminal (and the dry run).
pub fn render_plan(actions: &[Action]) -> String {
    if actions.is_empty() {
        return "board sync: GitHub matches docs/board.yaml; nothing to do\n".to_owned();
    }
    let mut out = format!(
        "{:<18} {:<8} {:<28} detail\n",
        "action", "issue", "task / label"
    );
    for a in actions {
        let (what, issue, subject, detail) = match a {
            Action::CreateLabel { name, color } => (
                "create label",
                String::new(),
                name.clone(),
                format!("#{color}"),
            ),
            Action::CreateIssue {
                task,
                title,
                closed,
                ..
            } => (
                "create issue",
                String::new(),
                task.clone(),
                if *closed {
                    format!("{title} (closed: done)")
                } else {
                    title.clone()
                },
            ),
            Action::UpdateIssue {
                number,
                task,
                fields,
                ..
            } => (
                "update issue",
                format!("#{number}"),
                task.clone(),
                fields.join(", "),
            ),
            Action::CloseIssue { number, task } => (
                "close issue",
                format!("#{number}"),
                task.clone(),
                "task is done".into(),
            ),
            Action::ReopenIssue { number, task } => (
                "reopen issue",
                format!("#{number}"),
                task.clone(),
                "task reopened in the YAML".into(),
            ),
            Action::ClosedOnGitHub { number, task } => (
                "closed on GitHub",
                format!("#{number}"),
                task.clone(),
                "not in the YAML; `--pull` marks the task done".into(),
            ),
        };
        let _ = writeln!(out, "{what:<18} {issue:<8} {subject:<28} {detail}");
    }
    out
}

/// Writes GitHub's closes back into the YAML text: each named task's `status:` becomes
/// `done`. Only those lines change, so comments, order and formatting stay as they are.
pub fn pull(yaml: &str, closed_tasks: &[&str]) -> Result<String> {
    let mut lines: Vec<String> = yaml.lines().map(str::to_owned).collect();
    for id in closed_tasks {
        let start = lines.iter().position(|l| {
            l.trim_start()
                .trim_start_matches("- ")
                .trim()
                .strip_prefix("id:")
                .is_some_and(|v| v.trim().trim_matches('"') == *id)
        });
        let Some(start) = start else {
            bail!("task {id:?} is not in docs/board.yaml")
        };
        let end = lines[start + 1..]
            .iter()
            .position(|l| l.trim_start().starts_with("- id:"))
            .map_or(lines.len(), |i| start + 1 + i);
        let Some(status) = (start..end).find(|&i| lines[i].trim_start().starts_with("status:"))
        else {
            bail!("task {id:?} has no status line");
        };
        // Swap the value token only: indentation, spacing and a trailing comment stay.
        let line = &lines[status];
        let colon = line.find("status:").expect("found above") + "status:".len();
        let after = &line[colon..];
        let value_start = after.len() - after.trim_start().len();
        let value_len = after[value_start..]
            .find(char::is_whitespace)
            .unwrap_or(after.len() - value_start);
        lines[status] = format!(
            "{}done{}",
            &line[..colon + value_start],
            &after[value_start + value_len..]
        );
    }
    let mut out = lines.join("\n");
    if yaml.ends_with('\n') {
        out.push('\n');
    }
    super::parse(&out, "docs/board.yaml")?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::parse;

    const BOARD: &str = "\
# comment kept
tasks:
  - id: one
    title: First
    area: titan
    status: todo   # a trailing comment
    difficulty: easy
    mentor: \"@m\"
    body: Do one.
  - id: two
    title: Second
    area: docs
    status: done
    difficulty: hard
    mentor: \"@n\"
    labels: [help-wanted]
    body: Did two.
";

    /// GitHub after a perfect sync of BOARD.
    fn synced(board: &Board) -> (Vec<RemoteLabel>, Vec<RemoteIssue>) {
        let labels = board
            .tasks
            .iter()
            .flat_map(labels_of)
            .map(|name| RemoteLabel { name })
            .collect();
        let issues = board
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| RemoteIssue {
                number: i as u64 + 1,
                title: t.title.clone(),
                body: body_of(t),
                open: t.status != Status::Done,
                labels: labels_of(t),
            })
            .collect();
        (labels, issues)
    }

    #[test]
    fn first_sync_creates_labels_then_issues_and_done_ones_closed() {
        let board = parse(BOARD, "b").unwrap();
        let p = plan(&board, &[], &[]);
        let labels = p
            .iter()
            .filter(|a| matches!(a, Action::CreateLabel { .. }))
            .count();
        assert_eq!(labels, 7, "{p:?}");
        assert!(matches!(&p[7], Action::CreateIssue { task, closed: false, .. } if task == "one"));
        assert!(matches!(&p[8], Action::CreateIssue { task, closed: true, .. } if task == "two"));
    }

    #[test]
    fn a_synced_board_plans_nothing() {
        let board = parse(BOARD, "b").unwrap();
        let (labels, issues) = synced(&board);
        assert_eq!(plan(&board, &labels, &issues), vec![]);
        assert_eq!(
            render_plan(&[]),
            "board sync: GitHub matches docs/board.yaml; nothing to do\n"
        );
    }

    #[test]
    fn an_edited_title_is_updated_and_matching_uses_the_marker() {
        let board = parse(&BOARD.replace("title: First", "title: First, renamed"), "b").unwrap();
        let (labels, issues) = synced(&parse(BOARD, "b").unwrap());
        let p = plan(&board, &labels, &issues);
        assert!(
            matches!(&p[..], [Action::UpdateIssue { number: 1, fields, .. }] if fields == &vec!["title"]),
            "{p:?}"
        );
    }

    #[test]
    fn a_task_marked_done_closes_its_issue_and_relabels_it() {
        let before = parse(BOARD, "b").unwrap();
        let (labels, issues) = synced(&before);
        let after = parse(
            &BOARD.replace("status: todo   # a trailing comment", "status: done"),
            "b",
        )
        .unwrap();
        let p = plan(&after, &labels, &issues);
        assert!(
            p.contains(&Action::CloseIssue {
                number: 1,
                task: "one".into()
            }),
            "{p:?}"
        );
        assert!(p.iter().any(|a| matches!(a, Action::UpdateIssue { number: 1, fields, .. } if fields == &vec!["labels"])), "{p:?}");
    }

    #[test]
    fn closed_on_github_is_reported_not_reopened_and_pulled_back() {
        let board = parse(BOARD, "b").unwrap();
        let (labels, mut issues) = synced(&board);
        issues[0].open = false; // closed by hand on GitHub, label still status/todo
        let p = plan(&board, &labels, &issues);
        assert_eq!(
            p,
            vec![Action::ClosedOnGitHub {
                number: 1,
                task: "one".into()
            }]
        );
        let pulled = pull(BOARD, &["one"]).unwrap();
        assert!(pulled.starts_with("# comment kept\n"), "comments stay");
        assert!(
            pulled.contains("    status: done   # a trailing comment\n"),
            "{pulled}"
        );
        assert_eq!(
            pulled.lines().count(),
            BOARD.lines().count(),
            "only the status line changed"
        );
        let after = parse(&pulled, "b").unwrap();
        assert_eq!(
            plan(&after, &labels, &issues).len(),
            1,
            "only the label follows: {:?}",
            plan(&after, &labels, &issues)
        );
    }

    #[test]
    fn a_task_reopened_in_the_yaml_reopens_its_issue() {
        let board = parse(BOARD, "b").unwrap();
        let (labels, issues) = synced(&board);
        let reopened = parse(&BOARD.replace("status: done", "status: todo"), "b").unwrap();
        let p = plan(&reopened, &labels, &issues);
        assert!(
            p.contains(&Action::ReopenIssue {
                number: 2,
                task: "two".into()
            }),
            "{p:?}"
        );
    }

    #[test]
    fn markers_roundtrip_and_pull_rejects_unknown_tasks() {
        assert_eq!(
            task_id_of(&format!("text\n\n{}", marker("a-b"))),
            Some("a-b")
        );
        assert_eq!(task_id_of("no marker"), None);
        assert!(pull(BOARD, &["nope"]).is_err());
    }
}
