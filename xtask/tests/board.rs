//! The rendered board is pinned by a snapshot of a small fixture.

const FIXTURE: &str = "\
tasks:
  - id: b-task
    title: Second area task
    area: titan
    status: todo
    difficulty: hard
    mentor: \"@b\"
    labels: [performance]
    body: |
      Make it fast,
      then make it faster.

      Details nobody reads in the summary.
  - id: a-task
    title: First area task
    area: engine_traits
    status: in-progress
    difficulty: easy
    mentor: \"@a\"
    body: Short.
  - id: done-task
    title: Finished
    area: docs
    status: done
    difficulty: medium
    mentor: \"@c\"
    body: Done already.
";

#[test]
fn rendered_board_groups_by_status_then_area() {
    let board = xtask::board::parse(FIXTURE, "fixture.yaml").unwrap();
    insta::assert_snapshot!("board_fixture", xtask::board::render(&board));
}

/// The dry-run table of a first sync against an empty repository.
#[test]
fn first_sync_plan_table() {
    let board = xtask::board::parse(FIXTURE, "fixture.yaml").unwrap();
    let plan = xtask::board::sync::plan(&board, &[], &[]);
    insta::assert_snapshot!(
        "board_first_sync_plan",
        xtask::board::sync::render_plan(&plan)
    );
}
