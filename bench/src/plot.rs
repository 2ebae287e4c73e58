//! The latency-against-load chart (SVG): p50, p99 and p99.9 of each system at fractions of its own
//! measured maximum, placed at the rate it achieved (accepted calls per second), medians over the
//! runs given. The offered rate is in the runs' JSON and the summary beside it.

use std::{collections::BTreeMap, path::Path};

use plotters::prelude::*;

use crate::report::{RunResults, SweepPoint};

struct Curve {
    name: &'static str,
    color: RGBColor,
    /// (achieved per second, p50, p99, p99.9) by fraction of the maximum.
    points: Vec<(f64, f64, f64, f64)>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn curve(name: &'static str, color: RGBColor, sweeps: Vec<&Vec<SweepPoint>>) -> Option<Curve> {
    let mut by_fraction: BTreeMap<u64, Vec<&SweepPoint>> = BTreeMap::new();
    for sweep in sweeps {
        for p in sweep {
            by_fraction
                .entry((p.fraction * 1000.0) as u64)
                .or_default()
                .push(p);
        }
    }
    let points: Vec<_> = by_fraction
        .values()
        .map(|ps| {
            let m = |f: fn(&SweepPoint) -> f64| median(ps.iter().map(|p| f(p)).collect());
            (
                m(|p| p.achieved),
                m(|p| p.p50_ms),
                m(|p| p.p99_ms),
                m(|p| p.p999_ms),
            )
        })
        .filter(|p| p.0 > 0.0)
        .collect();
    (!points.is_empty()).then_some(Curve { name, color, points })
}

pub fn latency_vs_load(runs: &[RunResults], path: &Path) -> anyhow::Result<()> {
    let mut curves = Vec::new();
    curves.extend(curve(
        "B1 echo",
        RGBColor(120, 120, 120),
        runs.iter().map(|r| &r.b1.sweep).collect(),
    ));
    curves.extend(curve(
        "ingest, SQLite",
        RGBColor(31, 119, 180),
        runs.iter().map(|r| &r.sqlite.sweep).collect(),
    ));
    curves.extend(curve(
        "ingest, PostgreSQL",
        RGBColor(214, 39, 40),
        runs.iter()
            .filter_map(|r| r.postgres.as_ref().map(|p| &p.sweep))
            .collect(),
    ));
    let all = curves.iter().flat_map(|c| c.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, 0.0f64, f64::MAX, 0.0f64);
    for p in all {
        x0 = x0.min(p.0);
        x1 = x1.max(p.0);
        y0 = y0.min(p.1.max(0.01));
        y1 = y1.max(p.3);
    }
    if curves.is_empty() {
        anyhow::bail!("no sweep points to plot");
    }
    let (x0, x1) = (x0 / 1.5, x1 * 1.5);
    // Room above the data for the legend.
    let (y0, y1) = ((y0 / 2.0).max(0.01), (y1 * 8.0).max(100.0));

    let root = SVGBackend::new(path, (1000, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Latency vs achieved load (open loop; ● p50  ▲ p99  ✕ p99.9; medians of runs)",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("achieved load, accepted calls per second (log)")
        .y_desc("latency, ms (log)")
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| {
            if *v >= 1.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            }
        })
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.12))
        .label_style(("sans-serif", 14))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            [(x0, 10.0), (x1, 10.0)],
            BLACK.mix(0.5).stroke_width(1),
        ))?
        .label("target: p99 ≤ 10 ms at 50 % of max")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLACK.mix(0.5)));
    for c in &curves {
        let color = c.color;
        let p50: Vec<(f64, f64)> = c.points.iter().map(|p| (p.0, p.1)).collect();
        let p99: Vec<(f64, f64)> = c.points.iter().map(|p| (p.0, p.2)).collect();
        let p999: Vec<(f64, f64)> = c.points.iter().map(|p| (p.0, p.3)).collect();
        chart
            .draw_series(LineSeries::new(p50.clone(), color.stroke_width(2)))?
            .label(c.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2)));
        chart.draw_series(p50.iter().map(|p| Circle::new(*p, 4, color.filled())))?;
        chart.draw_series(LineSeries::new(p99.clone(), color.mix(0.8).stroke_width(1)))?;
        chart.draw_series(p99.iter().map(|p| TriangleMarker::new(*p, 5, color.filled())))?;
        chart.draw_series(LineSeries::new(p999.clone(), color.mix(0.5).stroke_width(1)))?;
        chart.draw_series(p999.iter().map(|p| Cross::new(*p, 4, color.stroke_width(2))))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}
