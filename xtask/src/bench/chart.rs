//! The bench run's SVG charts: for each workload, throughput against value size and (for
//! workloads that write) write amplification against value size, one line per engine; and for
//! each cell whose measured phases were sampled over time, its timeline: space amplification
//! and ops/s against the share of the run, one line per engine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use engine_bench::Workload;
use plotters::prelude::*;

use super::{CellKey, Results, cell_key};

/// Writes the charts into `out`; returns their paths.
pub fn write_charts(results: &Results, out: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut workloads: Vec<Workload> = results.figures.iter().map(|f| f.spec.workload).collect();
    workloads.sort();
    workloads.dedup();
    for w in workloads {
        // engine -> (value size, figure), sorted by value size.
        let series = |pick: &dyn Fn(&engine_bench::Figures) -> Option<f64>| {
            let mut by_engine: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
            for f in results.figures.iter().filter(|f| f.spec.workload == w) {
                if let Some(y) = pick(f) {
                    by_engine
                        .entry(f.engine.clone())
                        .or_default()
                        .push((f.spec.value_size as f64, y));
                }
            }
            for points in by_engine.values_mut() {
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            by_engine
        };
        let path = out.join(format!("throughput-{}.svg", w.name()));
        line_chart(
            &path,
            &format!("{}: throughput", w.name()),
            "ops/s",
            true,
            &series(&|f| Some(f.ops_per_sec)),
        )?;
        written.push(path);
        if w.writes() {
            let wa = series(&|f| f.write_amp.value());
            if !wa.is_empty() {
                let path = out.join(format!("write-amp-{}.svg", w.name()));
                line_chart(
                    &path,
                    &format!("{}: write amplification", w.name()),
                    "engine bytes / user bytes",
                    false,
                    &wa,
                )?;
                written.push(path);
            }
        }
    }
    written.extend(write_timelines(results, out)?);
    Ok(written)
}

/// One chart per cell (workload and value size) in which some engine's timeline has more than
/// its end: `timeline-<workload>-<value bytes>.svg` (`-<fields>x<length>` for YCSB's records),
/// space amplification above, ops/s below, against the share of the run.
pub fn write_timelines(results: &Results, out: &Path) -> Result<Vec<PathBuf>> {
    let mut cells: BTreeMap<CellKey, Vec<&engine_bench::Figures>> = BTreeMap::new();
    for f in results.figures.iter().filter(|f| !f.timeline.is_empty()) {
        cells.entry(cell_key(f)).or_default().push(f);
    }
    let mut written = Vec::new();
    for figures in cells.values() {
        if figures.iter().all(|f| f.timeline.len() < 2) {
            continue;
        }
        let spec = &figures[0].spec;
        let size = if spec.workload.family() == engine_bench::Family::Ycsb {
            format!("{}x{}", spec.ycsb.field_count, spec.ycsb.field_length)
        } else {
            spec.value_size.to_string()
        };
        let path = out.join(format!("timeline-{}-{size}.svg", spec.workload.name()));
        timeline_chart(&path, figures)?;
        written.push(path);
    }
    Ok(written)
}

/// An engine's line in a timeline panel: its colour (the same in both panels), its name, and
/// its points (% of the run, figure).
type Line<'a> = (usize, &'a str, Vec<(f64, f64)>);

fn timeline_chart(path: &Path, figures: &[&engine_bench::Figures]) -> Result<()> {
    let e = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    let mut figures = figures.to_vec();
    figures.sort_by(|a, b| a.engine.cmp(&b.engine));
    let lines = |pick: &dyn Fn(&engine_bench::TimelinePoint) -> Option<f64>| -> Vec<Line<'_>> {
        figures
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let points = f
                    .timeline
                    .iter()
                    .filter_map(|p| pick(p).map(|y| (p.fraction * 100.0, y)))
                    .collect();
                (i, f.engine.as_str(), points)
            })
            .filter(|(_, _, points): &Line<'_>| !points.is_empty())
            .collect()
    };
    let space = lines(&|p| p.space_amp.value());
    let ops = lines(&|p| Some(p.ops_per_sec));
    let spec = &figures[0].spec;
    let cell = format!("{} {}", spec.workload.name(), super::show_value(spec));
    let root = SVGBackend::new(path, (760, 760)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let (upper, lower) = root.split_vertically(380);
    timeline_panel(
        &upper,
        &format!("{cell}: space amplification over the run"),
        "bytes on disk / live bytes",
        &space,
    )
    .map_err(|x| e(&x))?;
    timeline_panel(
        &lower,
        &format!("{cell}: ops/s over the run"),
        "ops/s (each slice)",
        &ops,
    )
    .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))?;
    Ok(())
}

/// One panel of a timeline chart: a line per engine over 0..100 % of the run, or a note that no
/// engine measured the figure.
fn timeline_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    y_desc: &str,
    lines: &[Line<'_>],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    if lines.is_empty() {
        let area = area.titled(title, ("sans-serif", 18))?;
        let (w, h) = area.dim_in_pixel();
        let note = "no engine measured it (see results.json for why)";
        area.draw(&Text::new(
            note,
            (w as i32 / 2 - 180, h as i32 / 2),
            ("sans-serif", 15),
        ))?;
        return Ok(());
    }
    let y1 = lines
        .iter()
        .flat_map(|l| l.2.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..100.0, 0.0..(y1 * 1.2).max(1.0))?;
    chart
        .configure_mesh()
        .x_desc("% of the measured phase")
        .y_desc(y_desc)
        .x_labels(11)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_labels(6)
        .y_label_formatter(&|y| axis_number(*y))
        .light_line_style(TRANSPARENT)
        .draw()?;
    for (i, engine, points) in lines {
        let color = Palette99::pick(*i).to_rgba();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(*engine)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// An axis number: 1.2M, 35k, 300, 1.50.
fn axis_number(y: f64) -> String {
    if y >= 1e6 {
        format!("{:.1}M", y / 1e6)
    } else if y >= 1e3 {
        format!("{:.0}k", y / 1e3)
    } else if y >= 100.0 {
        format!("{y:.0}")
    } else {
        format!("{y:.2}")
    }
}

fn line_chart(
    path: &Path,
    title: &str,
    y_desc: &str,
    log_y: bool,
    series: &BTreeMap<String, Vec<(f64, f64)>>,
) -> Result<()> {
    let e = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    // Value sizes are evenly spaced categories (100 B, 1 KiB, 4 KiB, ...): the usual sizes are
    // roughly geometric, and every tick then carries a readable size.
    let mut sizes: Vec<f64> = series.values().flatten().map(|p| p.0).collect();
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    if sizes.is_empty() {
        return Err(anyhow!("no figures to draw in {}", path.display()));
    }
    let slot = |size: f64| sizes.iter().position(|s| *s == size).unwrap_or(0) as f64;
    let series: BTreeMap<String, Vec<(f64, f64)>> = series
        .iter()
        .map(|(k, pts)| (k.clone(), pts.iter().map(|&(x, y)| (slot(x), y)).collect()))
        .collect();
    let series = &series;
    let ys = series.values().flatten().map(|p| p.1);
    let (y0, y1) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    let (x0, x1) = (-0.5, sizes.len() as f64 - 0.5);
    let x_label = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < sizes.len() {
            super::show_size(sizes[i as usize] as usize)
        } else {
            String::new()
        }
    };
    let y_label = |y: &f64| axis_number(*y);
    let root = SVGBackend::new(path, (760, 440)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80);
    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc("value size")
                .y_desc(y_desc)
                .x_labels(sizes.len())
                .x_label_formatter(&x_label)
                .y_labels(8)
                .y_label_formatter(&y_label)
                .light_line_style(TRANSPARENT)
                .draw()
                .map_err(|x| e(&x))?;
            for (i, (engine, points)) in series.iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                chart
                    .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                    .map_err(|x| e(&x))?
                    .label(engine.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                chart
                    .draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))
                    .map_err(|x| e(&x))?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(|x| e(&x))?;
        }};
    }
    if log_y {
        let chart = builder
            .build_cartesian_2d(x0..x1, ((y0 / 2.0).max(1e-3)..y1 * 2.0).log_scale())
            .map_err(|x| e(&x))?;
        finish!(chart);
    } else {
        let chart = builder
            .build_cartesian_2d(x0..x1, 0.0..(y1 * 1.2).max(1.0))
            .map_err(|x| e(&x))?;
        finish!(chart);
    }
    root.present().map_err(|x| e(&x))?;
    Ok(())
}
