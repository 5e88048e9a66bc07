//! `cargo xtask board`: the SIG task board in `docs/board.yaml`.
//!
//! `check` validates the file: unknown fields, unknown areas, statuses or difficulties, bad
//! ids and duplicate ids are errors naming the line (and column) and the task. `render`
//! writes `docs/board.md`, grouped by status and area; a test fails when the checked-in copy
//! is stale.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Result, bail};
use serde::Deserialize;

pub mod github;
pub mod sync;

/// The workspace's areas.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// engine_traits and the conformance suite.
    EngineTraits,
    /// rust-rocksdb and the rocks engine.
    Rocksdb,
    /// titan and the titan engine.
    Titan,
    /// failpoints and fault scenarios.
    Failpoints,
    /// Engines, new and old.
    Engines,
    /// cargo xtask.
    Xtask,
    /// The book.
    Docs,
}

/// A task's state.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Nobody works on it yet.
    Todo,
    /// Somebody does.
    InProgress,
    /// Finished.
    Done,
}

/// How hard a task is for a newcomer.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Difficulty {
    /// A first contribution.
    Easy,
    /// Some knowledge of the area.
    Medium,
    /// Design work.
    Hard,
}

/// One task.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Stable id: kebab-case, unique, never reused.
    pub id: String,
    /// One line.
    pub title: String,
    /// The area.
    pub area: Area,
    /// The state.
    pub status: Status,
    /// The difficulty.
    pub difficulty: Difficulty,
    /// Who helps.
    pub mentor: String,
    /// GitHub labels besides the area and status ones.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Relevant paths or URLs.
    #[serde(default)]
    pub links: Vec<String>,
    /// Markdown.
    pub body: String,
}

/// The board.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Board {
    /// Every task, in file order.
    pub tasks: Vec<Task>,
}

/// The 1-based line of the `nth` occurrence (0-based) of `id: <id>` in `text`.
fn line_of_id(text: &str, id: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.trim_start().trim_start_matches("- ").trim();
            l.strip_prefix("id:")
                .is_some_and(|v| v.trim().trim_matches('"') == id)
        })
        .nth(nth)
        .map_or(0, |(i, _)| i + 1)
}

/// Parses and validates `text` (from `file`).
pub fn parse(text: &str, file: &str) -> Result<Board> {
    let de = serde_yaml::Deserializer::from_str(text);
    let board: Board = match serde_path_to_error::deserialize(de) {
        Ok(b) => b,
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let (line, column) = inner.location().map_or((0, 0), |l| (l.line(), l.column()));
            let mut message = inner.to_string();
            if let Some(i) = message.find(" at line ") {
                message.truncate(i);
            }
            // Name the task by its position (tasks[3]) and, where it parsed, by its id.
            let task = path
                .strip_prefix("tasks[")
                .and_then(|r| r.split(']').next())
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| {
                    let raw: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
                    raw.get("tasks")?
                        .get(i)?
                        .get("id")?
                        .as_str()
                        .map(|id| format!("task `{id}`, "))
                })
                .unwrap_or_default();
            bail!("{file}:{line}:{column}: {task}{path}: {message}");
        }
    };
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &board.tasks {
        let line = line_of_id(text, &t.id, 0);
        let kebab = !t.id.is_empty()
            && t.id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !t.id.starts_with('-')
            && !t.id.ends_with('-');
        if !kebab {
            bail!(
                "{file}:{line}: task `{}`: the id must be kebab-case (a-z, 0-9, -)",
                t.id
            );
        }
        if t.title.trim().is_empty() {
            bail!("{file}:{line}: task `{}`: the title is empty", t.id);
        }
        if let Some(first) = seen.insert(&t.id, line) {
            let again = line_of_id(text, &t.id, 1);
            bail!(
                "{file}:{again}: task `{}`: duplicate id (first at line {first})",
                t.id
            );
        }
    }
    Ok(board)
}

/// Reads and validates `docs/board.yaml` under `root`.
pub fn load(root: &Path) -> Result<Board> {
    let path = root.join("docs/board.yaml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    parse(&text, "docs/board.yaml")
}

fn status_title(s: Status) -> &'static str {
    match s {
        Status::Todo => "To do",
        Status::InProgress => "In progress",
        Status::Done => "Done",
    }
}

/// The area's name as written in the YAML.
pub fn area_name(a: Area) -> &'static str {
    match a {
        Area::EngineTraits => "engine_traits",
        Area::Rocksdb => "rocksdb",
        Area::Titan => "titan",
        Area::Failpoints => "failpoints",
        Area::Engines => "engines",
        Area::Xtask => "xtask",
        Area::Docs => "docs",
    }
}

/// The difficulty's name as written in the YAML.
pub fn difficulty_name(d: Difficulty) -> &'static str {
    match d {
        Difficulty::Easy => "easy",
        Difficulty::Medium => "medium",
        Difficulty::Hard => "hard",
    }
}

/// `docs/board.md`: tasks grouped by status (to do, in progress, done), then area.
pub fn render(board: &Board) -> String {
    let mut out = String::from(
        "# SIG task board\n\n<!-- Generated from docs/board.yaml by `cargo xtask board render`; edit the YAML, not this file. -->\n",
    );
    for status in [Status::Todo, Status::InProgress, Status::Done] {
        let mut by_area: BTreeMap<Area, Vec<&Task>> = BTreeMap::new();
        for t in board.tasks.iter().filter(|t| t.status == status) {
            by_area.entry(t.area).or_default().push(t);
        }
        let n: usize = by_area.values().map(Vec::len).sum();
        let _ = write!(out, "\n## {} ({n})\n", status_title(status));
        for (area, tasks) in by_area {
            let _ = write!(out, "\n### {}\n\n", area_name(area));
            for t in tasks {
                // The body's first paragraph, on one line.
                let summary = t
                    .body
                    .lines()
                    .map(str::trim)
                    .take_while(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                let labels = if t.labels.is_empty() {
                    String::new()
                } else {
                    format!(", {}", t.labels.join(", "))
                };
                let _ = writeln!(
                    out,
                    "- **{}** (`{}`; {}; mentor {}{labels})  \n  {summary}",
                    t.title,
                    t.id,
                    difficulty_name(t.difficulty),
                    t.mentor
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "tasks:\n  - id: a-task\n    title: A task\n    area: titan\n    status: todo\n    difficulty: easy\n    mentor: \"@me\"\n    body: |\n      Do it.\n";

    #[test]
    fn a_valid_board_parses() {
        let b = parse(ONE, "b.yaml").unwrap();
        assert_eq!(b.tasks[0].area, Area::Titan);
    }

    #[test]
    fn unknown_field_names_line_and_task() {
        let text = ONE.replace("    body:", "    owner: x\n    body:");
        let err = parse(&text, "b.yaml").unwrap_err().to_string();
        assert!(err.starts_with("b.yaml:8:"), "{err}");
        assert!(
            err.contains("owner") && err.contains("task `a-task`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_area_and_status_name_line() {
        let err = parse(&ONE.replace("area: titan", "area: kernel"), "b.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("b.yaml:4:") && err.contains("kernel"),
            "{err}"
        );
        let err = parse(&ONE.replace("status: todo", "status: doing"), "b.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("b.yaml:5:") && err.contains("doing"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_id_names_both_lines() {
        let text = format!("{ONE}{}", ONE.replace("tasks:\n", ""));
        let err = parse(&text, "b.yaml").unwrap_err().to_string();
        assert_eq!(
            err,
            "b.yaml:10: task `a-task`: duplicate id (first at line 2)"
        );
    }

    #[test]
    fn malformed_yaml_gives_line_and_column() {
        let err = parse("tasks:\n  - id: [unclosed\n", "b.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("b.yaml:3:") || err.starts_with("b.yaml:2:"),
            "{err}"
        );
    }
}
