//! The report's charts: plotters drawing SVG into a `String` (no fonts loaded, no script),
//! inlined in the page. Each function draws one kind of chart from plain numbers.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The first series' colour (bars, actual values).
pub const BLUE: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
/// The second series' colour (model expectations).
pub const ORANGE: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
/// Marks (the calibration end).
const GREY: RGBColor = RGBColor(0x44, 0x44, 0x44);

/// Chart size in pixels.
const SIZE: (u32, u32) = (760, 340);

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn fail<E: std::fmt::Debug>(e: E) -> String {
    format!("drawing a chart: {e:?}")
}

fn draw(
    size: (u32, u32),
    f: impl FnOnce(&Area<'_>) -> Result<(), String>,
) -> Result<String, String> {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, size).into_drawing_area();
        root.fill(&WHITE).map_err(fail)?;
        f(&root)?;
        root.present().map_err(fail)?;
    }
    Ok(s)
}

/// The top of a y axis that holds `max` with some room.
fn top(max: f64) -> f64 {
    if max > 0.0 && max.is_finite() {
        max * 1.1
    } else {
        1.0
    }
}

/// The series' names and swatches in a box at `position`.
fn legend<'a, 'b: 'a>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(fail)
}

/// Bars of one or two series over `labels` (two series side by side).
pub fn bars(labels: &[String], series: &[(&str, &[f64])], y_desc: &str) -> Result<String, String> {
    draw(SIZE, |root| {
        let max = series.iter().flat_map(|(_, v)| v.iter().copied()).fold(0.0, f64::max);
        let n = labels.len().max(1);
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..n as f64, 0f64..top(max))
            .map_err(fail)?;
        chart.configure_mesh().disable_x_mesh().x_labels(0).y_desc(y_desc).draw().map_err(fail)?;
        // Category names under the bars' centres, wrapped at the first space when long
        // (plotters puts numeric ticks where it likes, not at category centres).
        for (i, label) in labels.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            let lines: Vec<&str> = match label.split_once(' ') {
                Some((a, b)) if n > 6 => vec![a, b],
                _ => vec![label.as_str()],
            };
            for (k, line) in lines.iter().enumerate() {
                let style = TextStyle::from(("sans-serif", 11).into_font())
                    .pos(Pos::new(HPos::Center, VPos::Top));
                root.draw(&Text::new(line.to_string(), (x, y + 6 + 13 * k as i32), style))
                    .map_err(fail)?;
            }
        }
        let k = series.len().max(1) as f64;
        let width = 0.8 / k;
        for (s, (name, values)) in series.iter().enumerate() {
            let color = if s == 0 { BLUE } else { ORANGE };
            chart
                .draw_series(values.iter().enumerate().map(|(i, &v)| {
                    let x0 = i as f64 + 0.1 + s as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width, v)], color.filled())
                }))
                .map_err(fail)?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        if series.len() > 1 {
            legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    })
}

/// Lines over the x positions `0..n` labelled by `x_label`, with an optional vertical mark.
pub fn lines(
    n: usize,
    x_label: &dyn Fn(usize) -> String,
    series: &[(&str, &[f64])],
    mark: Option<(usize, &str)>,
    y_desc: &str,
) -> Result<String, String> {
    draw(SIZE, |root| {
        let max = series.iter().flat_map(|(_, v)| v.iter().copied()).fold(0.0, f64::max);
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..n.max(1) as f64, 0f64..top(max))
            .map_err(fail)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|x| x_label(x.round().max(0.0) as usize))
            .y_desc(y_desc)
            .draw()
            .map_err(fail)?;
        for (s, (name, values)) in series.iter().enumerate() {
            let color = if s == 0 { BLUE } else { ORANGE };
            let style = ShapeStyle::from(&color).stroke_width(2);
            chart
                .draw_series(LineSeries::new(
                    values.iter().enumerate().map(|(i, &v)| (i as f64, v)),
                    style,
                ))
                .map_err(fail)?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
        }
        if let Some((at, label)) = mark {
            let x = at as f64;
            chart
                .draw_series(LineSeries::new(
                    [(x, 0.0), (x, top(max))],
                    ShapeStyle::from(&GREY).stroke_width(2),
                ))
                .map_err(fail)?
                .label(label)
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], GREY));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}

/// A heat map: `values[row][col]` in `[0, max]`, rows drawn bottom to top, each cell
/// shaded from white to blue and, when `annotate`, labelled with its value.
pub fn heat(
    values: &[Vec<f64>],
    col_label: &dyn Fn(usize) -> String,
    row_label: &dyn Fn(usize) -> String,
    x_desc: &str,
    y_desc: &str,
    annotate: Option<&dyn Fn(f64) -> String>,
) -> Result<String, String> {
    let rows = values.len().max(1);
    let cols = values.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let max = values.iter().flatten().copied().fold(0.0, f64::max);
    let height = (rows as u32 * 22 + 90).clamp(220, 560);
    draw((SIZE.0, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..cols as f64, 0f64..rows as f64)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(0)
            .y_labels(0)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(fail)?;
        // Labels at the cells' centres (every k-th column when there are many).
        let every = cols.div_ceil(13);
        for c in (0..cols).step_by(every) {
            let (x, y) = chart.backend_coord(&(c as f64 + 0.5, 0.0));
            let style = TextStyle::from(("sans-serif", 11).into_font())
                .pos(Pos::new(HPos::Center, VPos::Top));
            root.draw(&Text::new(col_label(c), (x, y + 4), style)).map_err(fail)?;
        }
        let every = rows.div_ceil(20);
        for r in (0..rows).step_by(every) {
            let (x, y) = chart.backend_coord(&(0.0, r as f64 + 0.5));
            let style = TextStyle::from(("sans-serif", 11).into_font())
                .pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(row_label(r), (x - 4, y), style)).map_err(fail)?;
        }
        let shade = |v: f64| {
            let t = if max > 0.0 { (v / max).clamp(0.0, 1.0) } else { 0.0 };
            let mix =
                |a: u8, b: u8| (f64::from(a) + t * (f64::from(b) - f64::from(a))).round() as u8;
            RGBColor(mix(0xf7, 0x08), mix(0xfb, 0x45), mix(0xff, 0x94))
        };
        chart
            .draw_series(values.iter().enumerate().flat_map(|(r, row)| {
                row.iter().enumerate().map(move |(c, &v)| {
                    Rectangle::new(
                        [(c as f64, r as f64), (c as f64 + 1.0, r as f64 + 1.0)],
                        shade(v).filled(),
                    )
                })
            }))
            .map_err(fail)?;
        if let Some(label) = annotate {
            chart
                .draw_series(values.iter().enumerate().flat_map(|(r, row)| {
                    row.iter().enumerate().map(move |(c, &v)| {
                        let color = if max > 0.0 && v / max > 0.55 { WHITE } else { BLACK };
                        Text::new(
                            label(v),
                            (c as f64 + 0.15, r as f64 + 0.75),
                            ("sans-serif", 10).into_font().color(&color),
                        )
                    })
                }))
                .map_err(fail)?;
        }
        Ok(())
    })
}
