//! The charts drawn as inline SVG. Every mark is an element with a class and data
//! attributes carrying its values (`<rect class="box" data-constructor="Red Bull" ...>`),
//! so a reader can inspect them and tests can count them.

use std::fmt::Write;

use ml::compare::{CandidateResult, Comparison};
use ml::metrics::SplitMetrics;
use ml::stage::Metrics;

use super::charts::{Chart, ChartData, LapTimes, PitStops};
use super::markdown::escape;

const WIDTH: f64 = 760.0;
/// Room for the y axis labels (constructor names, seconds).
const LEFT: f64 = 130.0;
const RIGHT: f64 = 24.0;

/// The charts section's HTML and the data behind it.
pub struct Charts {
    pub html: String,
    pub data: ChartData,
}

impl Charts {
    pub fn draw(data: ChartData) -> Charts {
        Charts { html: section(&data), data }
    }
}

/// The charts section: one figure per chart, each its SVG or why it is missing.
fn section(data: &ChartData) -> String {
    let mut out = String::new();
    out.push_str(&figure(
        "chart-pit-stops",
        "Pit stops by constructor, 2021",
        "Seconds per pit stop (log scale): whiskers from the fastest to the slowest stop, the box from the \
         first to the third quartile, a bar at the median and a dot at the mean; fastest mean first.",
        &data.pit_stops,
        |rows| pit_stops(rows),
    ));
    out.push_str(&figure(
        "chart-lap-times",
        "Lap time trend",
        "Mean lap time per race year and its 5-year moving average, in seconds.",
        &data.lap_times,
        |rows| lap_times(rows),
    ));
    out.push_str(&figure(
        "chart-ml",
        "Predicting the finishing position",
        "The logistic regression's confusion matrices (rows: true class, columns: predicted; shade: share of \
         the true class) and per-class precision, recall and F1, on the test split and the 2020 hold-out.",
        &data.ml,
        ml_metrics,
    ));
    out.push_str(&figure(
        "chart-ml-compare",
        "Model selection",
        "pitwall ml compare: each candidate's mean balanced accuracy over the cross-validation folds of the \
         training split (bar, with one standard deviation either side), and, refitted on the whole training \
         split, on the test split (circle) and the 2020 hold-out (diamond). The starred candidate is the \
         cross-validation winner; test and hold-out are never used to choose.",
        &data.ml_compare,
        ml_compare,
    ));
    out
}

/// One row per candidate: a CV mean bar with its ± sd whisker, test and hold-out marks.
fn ml_compare(c: &Comparison) -> String {
    let (row, top, left, width) = (22.0, 8.0, 250.0, 420.0);
    let h = top + c.candidates.len() as f64 * row + 28.0;
    let lo = c.candidates.iter().flat_map(|r| [r.cv_mean - r.cv_sd, r.test, r.hold_out]).fold(1.0, f64::min);
    let scale = Scale {
        lo: (lo * 10.0).floor() / 10.0,
        hi: 1.0_f64.min(lo.max(0.0) + 0.4),
        a: left,
        b: left + width,
        log: false,
    };
    let mut out = format!(
        "<svg class=\"chart ml-compare\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" \
         aria-label=\"Balanced accuracy per candidate\">",
        w = left + width + 16.0
    );
    x_axis(&mut out, &scale, top, h - 28.0, "");
    for (i, r) in c.candidates.iter().enumerate() {
        let y = top + i as f64 * row;
        let star = if r.name == c.chosen { "* " } else { "" };
        out.push_str(&cv_bar(r, star, &scale, y, row));
        out.push_str(&score_marks(r, &scale, y + row / 2.0));
    }
    out.push_str(&format!(
        "</svg><p class=\"legend\">{}-fold CV on {} training rows (seed {}), total {:.2} s; bar: CV mean ± sd, \
         circle: test, diamond: 2020 hold-out. Chosen: {}.</p>",
        c.folds,
        c.train_rows,
        c.seed,
        c.total_ms / 1000.0,
        escape(&c.chosen)
    ));
    out
}

/// A candidate's label (`star` marks the chosen one) and its CV mean bar, in the `row`
/// pixels from `y`; the bar's tooltip gives every score.
fn cv_bar(r: &CandidateResult, star: &str, scale: &Scale, y: f64, row: f64) -> String {
    let left = scale.a;
    format!(
        "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{star}{name}</text>\
         <rect class=\"cv-bar\" data-candidate=\"{name}\" data-cv-mean=\"{:.4}\" data-cv-sd=\"{:.4}\" \
         x=\"{left}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{name}: CV {:.3} ± {:.3}, test \
         {:.3}, hold-out {:.3}, fit {:.1} ms</title></rect>",
        left - 6.0,
        y + row / 2.0 + 4.0,
        r.cv_mean,
        r.cv_sd,
        y + 3.0,
        scale.clamped_at(r.cv_mean) - left,
        row - 6.0,
        r.cv_mean,
        r.cv_sd,
        r.test,
        r.hold_out,
        r.fit_ms,
        name = escape(&r.name),
    )
}

/// A candidate's CV ± sd whisker, test circle and hold-out diamond, centred on `cy`.
fn score_marks(r: &CandidateResult, scale: &Scale, cy: f64) -> String {
    let at = |v: f64| scale.clamped_at(v);
    format!(
        "<line class=\"whisker\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{cy:.1}\" y2=\"{cy:.1}\"/>\
         <circle class=\"test\" data-candidate=\"{name}\" data-test=\"{:.4}\" cx=\"{:.1}\" cy=\"{cy:.1}\" r=\"4\"/>\
         <rect class=\"hold-out\" data-candidate=\"{name}\" data-hold-out=\"{:.4}\" x=\"{:.1}\" y=\"{:.1}\" \
         width=\"7\" height=\"7\" transform=\"rotate(45 {:.1} {cy:.1})\"/>",
        at(r.cv_mean - r.cv_sd),
        at(r.cv_mean + r.cv_sd),
        r.test,
        at(r.test),
        r.hold_out,
        at(r.hold_out) - 3.5,
        cy - 3.5,
        at(r.hold_out),
        name = escape(&r.name),
    )
}

fn figure<T>(id: &str, title: &str, caption: &str, chart: &Chart<T>, draw: impl Fn(&T) -> String) -> String {
    let body = match chart {
        Chart::Ok { data } => draw(data),
        Chart::Missing { message } => format!("<p class=\"missing\">Not drawn: {}</p>", escape(message)),
    };
    format!(
        "<figure class=\"chart\" id=\"{id}\">\n<h2>{}</h2>\n<figcaption>{}</figcaption>\n{body}</figure>\n",
        escape(title),
        escape(caption)
    )
}

/// A value axis from `a` to `b` (pixels) over `lo..hi`, linear or logarithmic.
struct Scale {
    lo: f64,
    hi: f64,
    a: f64,
    b: f64,
    log: bool,
}

impl Scale {
    /// A linear scale over `min..max` widened to round ticks.
    fn linear(min: f64, max: f64, a: f64, b: f64) -> Scale {
        let step = nice_step((max - min).max(f64::EPSILON) / 5.0);
        let (lo, hi) = ((min / step).floor() * step, (max / step).ceil() * step);
        Scale { lo, hi: if hi > lo { hi } else { lo + step }, a, b, log: false }
    }

    /// A log scale over `min..max` (both positive) widened to the 1-2-5 ticks around them.
    fn log(min: f64, max: f64, a: f64, b: f64) -> Scale {
        let ticks = one_two_five(min, max);
        let lo = ticks.first().copied().unwrap_or(min);
        let hi = ticks.last().copied().unwrap_or(max);
        Scale { lo, hi, a, b, log: true }
    }

    fn at(&self, v: f64) -> f64 {
        let t = if self.log {
            (v.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        self.a + t * (self.b - self.a)
    }

    /// Where `v` goes, held within the axis.
    fn clamped_at(&self, v: f64) -> f64 {
        self.at(v.clamp(self.lo, self.hi))
    }

    fn ticks(&self) -> Vec<f64> {
        if self.log {
            return one_two_five(self.lo, self.hi).into_iter().filter(|t| *t >= self.lo && *t <= self.hi).collect();
        }
        let step = nice_step((self.hi - self.lo) / 5.0);
        let n = ((self.hi - self.lo) / step).round() as usize;
        (0..=n).map(|i| self.lo + i as f64 * step).collect()
    }
}

/// 1, 2 or 5 times a power of ten, the nearest at or above `raw`.
fn nice_step(raw: f64) -> f64 {
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|s| *s >= raw * 0.999).unwrap_or(10.0 * power)
}

/// The 1-2-5 series from the last one at or below `min` to the first at or above `max`.
fn one_two_five(min: f64, max: f64) -> Vec<f64> {
    let (first, last) = (min.log10().floor() as i32, max.log10().ceil() as i32);
    let all: Vec<f64> = (first..=last).flat_map(|p| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(p))).collect();
    let start = all.iter().rposition(|t| *t <= min).unwrap_or(0);
    let end = all.iter().position(|t| *t >= max).unwrap_or(all.len() - 1);
    all[start..=end].to_vec()
}

/// A number as a person writes it: at most two decimals, no trailing zeros.
fn number(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// An optional value for a data attribute: empty when missing.
fn attr(v: Option<f64>) -> String {
    v.map(number).unwrap_or_default()
}

/// A horizontal value axis with gridlines at `y0..y1`, its labels below `y1`.
fn x_axis(out: &mut String, scale: &Scale, y0: f64, y1: f64, unit: &str) {
    out.push_str("<g class=\"axis x\">");
    for t in scale.ticks() {
        let x = scale.at(t);
        write!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{y0:.1}\" y2=\"{y1:.1}\"/>\
             <text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            y1 + 16.0,
            number(t)
        )
        .expect("writing to a String cannot fail");
    }
    write!(
        out,
        "<text class=\"unit\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text></g>",
        scale.b,
        y1 + 32.0,
        escape(unit)
    )
    .expect("writing to a String cannot fail");
}

/// The box-and-whisker chart: one row per constructor, in the order given (by mean).
fn pit_stops(rows: &[PitStops]) -> String {
    let values: Vec<f64> = rows.iter().flat_map(|r| [r.min, r.q1, r.median, r.q3, r.max, r.mean]).flatten().collect();
    if values.is_empty() {
        return "<p class=\"missing\">No 2021 pit stops in the warehouse.</p>".to_owned();
    }
    let (min, max) = values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let (top, row_height) = (12.0, 28.0);
    let bottom = top + rows.len() as f64 * row_height;
    // Slow stops (red flags, repairs) are a hundred times the usual ones: only a log scale
    // shows both; one that cannot be logarithmic falls back to linear.
    let scale = if min > 0.0 && max / min > 20.0 {
        Scale::log(min, max, LEFT, WIDTH - RIGHT)
    } else {
        Scale::linear(min.min(0.0), max, LEFT, WIDTH - RIGHT)
    };
    let mut out = format!(
        "<svg class=\"chart pit-stops\" viewBox=\"0 0 {WIDTH} {h:.0}\" width=\"{WIDTH}\" height=\"{h:.0}\" \
         role=\"img\" \
         aria-label=\"2021 pit stop seconds per constructor\">",
        h = bottom + 40.0
    );
    x_axis(&mut out, &scale, top, bottom, if scale.log { "seconds (log scale)" } else { "seconds" });
    for (i, r) in rows.iter().enumerate() {
        let cy = top + (i as f64 + 0.5) * row_height;
        let name = escape(&r.constructor);
        write!(
            out,
            "<g class=\"constructor\" data-constructor=\"{name}\" data-count=\"{}\" data-mean=\"{}\" data-std=\"{}\">\
             <title>{name}: {} stops, mean {} s, min {}, quartiles {} / {} / {}, max {}</title>\
             <text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{name}</text>",
            attr(r.count),
            attr(r.mean),
            attr(r.std),
            attr(r.count),
            attr(r.mean),
            attr(r.min),
            attr(r.q1),
            attr(r.median),
            attr(r.q3),
            attr(r.max),
            LEFT - 8.0,
            cy + 4.0
        )
        .expect("writing to a String cannot fail");
        box_marks(&mut out, &scale, r, cy, &name);
        out.push_str("</g>");
    }
    out.push_str("</svg>\n");
    out
}

/// One constructor's whisker, box, median and mean; a missing value leaves its mark out.
fn box_marks(out: &mut String, scale: &Scale, r: &PitStops, cy: f64, name: &str) {
    if let (Some(lo), Some(hi)) = (r.min, r.max) {
        let (x1, x2) = (scale.at(lo), scale.at(hi));
        out.push_str(&format!(
            "<line class=\"whisker\" data-constructor=\"{name}\" data-min=\"{}\" data-max=\"{}\" \
             x1=\"{x1:.1}\" x2=\"{x2:.1}\" y1=\"{cy:.1}\" y2=\"{cy:.1}\"/>",
            number(lo),
            number(hi)
        ));
        for (class, x) in [("cap min", x1), ("cap max", x2)] {
            out.push_str(&format!(
                "<line class=\"{class}\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
                cy - 5.0,
                cy + 5.0
            ));
        }
    }
    if let (Some(q1), Some(q3)) = (r.q1, r.q3) {
        let (x1, x2) = (scale.at(q1), scale.at(q3));
        out.push_str(&format!(
            "<rect class=\"box\" data-constructor=\"{name}\" data-q1=\"{}\" data-q3=\"{}\" x=\"{x1:.1}\" \
             y=\"{:.1}\" width=\"{:.1}\" height=\"18\"/>",
            number(q1),
            number(q3),
            cy - 9.0,
            (x2 - x1).max(1.0)
        ));
    }
    if let Some(m) = r.median {
        let x = scale.at(m);
        out.push_str(&format!(
            "<line class=\"median\" data-constructor=\"{name}\" data-median=\"{}\" x1=\"{x:.1}\" \
             x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
            number(m),
            cy - 9.0,
            cy + 9.0
        ));
    }
    if let Some(m) = r.mean {
        out.push_str(&format!(
            "<circle class=\"mean\" data-constructor=\"{name}\" data-mean=\"{}\" cx=\"{:.1}\" cy=\"{cy:.1}\" r=\"4\"/>",
            number(m),
            scale.at(m)
        ));
    }
}

/// Reads one line's value off a year's row.
type Series = fn(&LapTimes) -> Option<f64>;

/// The lap time line chart: yearly means as points on a line, the moving average as a
/// second line (broken where it is undefined, the first four years).
fn lap_times(rows: &[LapTimes]) -> String {
    let values: Vec<f64> = rows.iter().flat_map(|r| [r.seconds, r.moving_avg]).flatten().collect();
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return "<p class=\"missing\">No lap times in the warehouse.</p>".to_owned();
    };
    let (min, max) = values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let (min, max) = if values.is_empty() { (0.0, 1.0) } else { (min, max) };
    let (top, bottom, height) = (12.0, 272.0, 320.0);
    let years =
        Scale { lo: first.year as f64 - 0.5, hi: last.year as f64 + 0.5, a: LEFT / 2.0, b: WIDTH - RIGHT, log: false };
    let seconds = Scale::linear(min, max, bottom, top);
    let mut out = format!(
        "<svg class=\"chart lap-times\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" \
         role=\"img\" \
         aria-label=\"Mean lap time per race year and its 5-year moving average\"><g class=\"axis y\">"
    );
    for t in seconds.ticks() {
        let y = seconds.at(t);
        write!(
            out,
            "<line class=\"grid\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text \
             class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" \
             text-anchor=\"end\">{}</text>",
            years.a,
            years.b,
            years.a - 6.0,
            y + 4.0,
            number(t)
        )
        .expect("writing to a String cannot fail");
    }
    out.push_str("</g>");
    out.push_str(&year_axis(first.year, last.year, &years, bottom));
    let series: [(&str, Series); 2] = [("lap-time", |r| r.seconds), ("moving-avg", |r| r.moving_avg)];
    for (class, value) in series {
        out.push_str(&series_marks(rows, class, value, &years, &seconds));
    }
    write!(
        out,
        "<g class=\"legend\" transform=\"translate({:.1} {:.1})\"><line class=\"series lap-time\" \
         x1=\"0\" x2=\"24\" y1=\"0\" y2=\"0\"/><text x=\"30\" y=\"4\">mean lap time</text><line class=\"series \
         moving-avg\" x1=\"150\" x2=\"174\" y1=\"0\" y2=\"0\"/><text x=\"180\" y=\"4\">5-year moving \
         average</text></g>",
        LEFT / 2.0,
        height - 14.0
    )
    .expect("writing to a String cannot fail");
    out.push_str("</svg>\n");
    out
}

/// The x axis of the lap-time chart: round years, at most a dozen of them.
fn year_axis(first: i64, last: i64, years: &Scale, bottom: f64) -> String {
    let mut out = String::from("<g class=\"axis x\">");
    let span = last - first;
    let step = [1, 2, 5, 10, 20, 50].into_iter().find(|s| span / s <= 12).unwrap_or(100);
    let from = first + (step - first.rem_euclid(step)) % step;
    for year in (from..=last).step_by(step as usize) {
        write!(
            out,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{year}</text>",
            years.at(year as f64),
            bottom + 18.0
        )
        .expect("writing to a String cannot fail");
    }
    out.push_str("</g>");
    out
}

/// One series of the lap-time chart: its line (broken where a value is missing) and a
/// point per year that has one.
fn series_marks(rows: &[LapTimes], class: &str, value: Series, years: &Scale, seconds: &Scale) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for r in rows {
        match value(r) {
            Some(v) => {
                let pen = if pen_down { "L " } else { "M " };
                write!(d, "{pen}{:.1} {:.1} ", years.at(r.year as f64), seconds.at(v))
                    .expect("writing to a String cannot fail");
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    let mut out = format!("<path class=\"series {class}\" d=\"{}\"/>", d.trim_end());
    for r in rows {
        if let Some(v) = value(r) {
            write!(
                out,
                "<circle class=\"point {class}\" data-year=\"{}\" data-seconds=\"{}\" cx=\"{:.1}\" \
                 cy=\"{:.1}\" r=\"3\"><title>{}: {} s</title></circle>",
                r.year,
                number(v),
                years.at(r.year as f64),
                seconds.at(v),
                r.year,
                number(v)
            )
            .expect("writing to a String cannot fail");
        }
    }
    out
}

/// The workshop's position classes (`position_label` of `covariate_encoding`).
fn class_name(label: i64) -> String {
    match label {
        1 => "1 podium".to_owned(),
        2 => "2 points".to_owned(),
        3 => "3 no points".to_owned(),
        other => other.to_string(),
    }
}

/// Both splits' confusion matrices and per-class metrics, and the training details.
fn ml_metrics(metrics: &Metrics) -> String {
    let t = &metrics.training;
    let mut out = match &t.candidate {
        // A model chosen among pitwall ml compare's candidates: which, and why.
        Some(c) => format!(
            "<p class=\"ml-summary\">Model {} (candidate {}: {}; {}): trained on {} of {} rows.</p>\n\
             <div class=\"ml-splits\">",
            escape(&metrics.model),
            escape(&c.name),
            escape(&c.family),
            escape(&c.chosen_by),
            t.train_rows,
            t.rows,
        ),
        None => format!(
            "<p class=\"ml-summary\">Model {} ({} {}, {} features): trained on {} of {} rows, {} L-BFGS \
             iterations of at most {}, converged: {}.</p>\n<div class=\"ml-splits\">",
            escape(&metrics.model),
            escape(&t.library),
            escape(&t.library_version),
            if t.standardized { "standardized" } else { "raw" },
            t.train_rows,
            t.rows,
            t.iterations,
            t.max_iterations,
            if t.converged { "yes" } else { "no" },
        ),
    };
    for (split, title, m) in [("test", "Test split", &metrics.test), ("hold_out", "2020 hold-out", &metrics.hold_out)] {
        write!(
            out,
            "<div class=\"ml-split\" data-split=\"{split}\"><h3>{title}: balanced accuracy {:.3}, accuracy \
             {:.3}, {} rows</h3>{}{}</div>",
            m.balanced_accuracy,
            m.accuracy,
            m.rows,
            confusion_matrix(split, m),
            class_metrics(split, m)
        )
        .expect("writing to a String cannot fail");
    }
    out.push_str("</div>\n");
    out
}

fn confusion_matrix(split: &str, m: &SplitMetrics) -> String {
    let (cell, left, top) = (64.0, 92.0, 40.0);
    let k = m.labels.len() as f64;
    let (w, h) = (left + k * cell + 8.0, top + k * cell + 8.0);
    let mut out = format!(
        "<svg class=\"chart confusion\" data-split=\"{split}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" \
         height=\"{h}\" role=\"img\" \
         aria-label=\"Confusion matrix\"><text class=\"unit\" x=\"{:.1}\" y=\"12\" \
         text-anchor=\"middle\">predicted</text>",
        left + k * cell / 2.0
    );
    for (j, label) in m.labels.iter().enumerate() {
        let x = left + (j as f64 + 0.5) * cell;
        write!(
            out,
            "<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            top - 8.0,
            escape(&class_name(*label))
        )
        .expect("writing to a String cannot fail");
    }
    for (i, (truth, row)) in m.labels.iter().zip(&m.confusion_matrix).enumerate() {
        let y = top + i as f64 * cell;
        let total: u64 = row.iter().sum();
        write!(
            out,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y + cell / 2.0 + 4.0,
            escape(&class_name(*truth))
        )
        .expect("writing to a String cannot fail");
        for (j, (predicted, n)) in m.labels.iter().zip(row).enumerate() {
            // Shaded by the share of the true class, so each row reads as that class's recall.
            let share = if total == 0 { 0.0 } else { *n as f64 / total as f64 };
            let x = left + j as f64 * cell;
            let ink = if share > 0.55 { "light" } else { "dark" };
            write!(
                out,
                "<rect class=\"cell\" data-split=\"{split}\" data-true=\"{truth}\" \
                 data-predicted=\"{predicted}\" data-count=\"{n}\" \
                 x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell}\" height=\"{cell}\" fill-opacity=\"{:.3}\"/>\
                 <text class=\"count {ink}\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{n}</text>",
                0.08 + 0.92 * share,
                x + cell / 2.0,
                y + cell / 2.0 + 5.0
            )
            .expect("writing to a String cannot fail");
        }
    }
    out.push_str("</svg>");
    out
}

/// Per class, one bar each for precision, recall and F1 (0 to 1).
fn class_metrics(split: &str, m: &SplitMetrics) -> String {
    let (bar, gap, left, top, width) = (12.0, 10.0, 92.0, 8.0, 300.0);
    let group = 3.0 * bar + gap;
    let h = top + m.per_class.len() as f64 * group + 28.0;
    let scale = Scale { lo: 0.0, hi: 1.0, a: left, b: left + width, log: false };
    let mut out = format!(
        "<svg class=\"chart class-metrics\" data-split=\"{split}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" \
         height=\"{h}\" \
         role=\"img\" aria-label=\"Precision, recall and F1 per class\">",
        w = left + width + 16.0
    );
    x_axis(&mut out, &scale, top, h - 28.0, "");
    for (i, c) in m.per_class.iter().enumerate() {
        let y = top + i as f64 * group;
        write!(
            out,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y + 1.5 * bar + 4.0,
            escape(&class_name(c.label))
        )
        .expect("writing to a String cannot fail");
        for (k, (metric, value)) in
            [("precision", c.precision), ("recall", c.recall), ("f1", c.f1)].into_iter().enumerate()
        {
            write!(
                out,
                "<rect class=\"metric-bar {metric}\" data-split=\"{split}\" data-class=\"{}\" data-metric=\"{metric}\" \
                 data-value=\"{value:.4}\" x=\"{left}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}: \
                 {metric} {value:.3} \
                 (support {})</title></rect>",
                c.label,
                y + k as f64 * bar,
                scale.at(value) - left,
                bar - 2.0,
                escape(&class_name(c.label)),
                c.support
            )
            .expect("writing to a String cannot fail");
        }
    }
    out.push_str(
        "</svg><p class=\"legend\"><span class=\"key precision\"></span>precision <span class=\"key \
         recall\"></span>recall <span class=\"key f1\"></span>F1</p>",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stops(name: &str, min: f64, max: f64) -> PitStops {
        PitStops {
            constructor: name.to_owned(),
            count: Some(3.0),
            mean: Some((min + max) / 2.0),
            std: None,
            min: Some(min),
            q1: Some(min + 1.0),
            median: Some(min + 2.0),
            q3: Some(min + 3.0),
            max: Some(max),
        }
    }

    #[test]
    fn ticks_are_round_numbers_covering_the_data() {
        let linear = Scale::linear(83.2, 97.9, 0.0, 100.0);
        assert_eq!(linear.ticks(), vec![80.0, 85.0, 90.0, 95.0, 100.0]);
        let log = Scale::log(14.88, 2077.16, 0.0, 100.0);
        assert_eq!(log.ticks(), vec![10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0]);
        assert!((log.at(10.0) - 0.0).abs() < 1e-9 && (log.at(5000.0) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn one_box_per_constructor_with_names_escaped() {
        let svg = pit_stops(&[stops("Red Bull", 15.28, 2076.41), stops("A <&> B", 18.0, 2000.0)]);
        assert_eq!(svg.matches("<rect class=\"box\"").count(), 2);
        assert!(svg.contains("data-constructor=\"Red Bull\" data-q1=\"16.28\""), "{svg}");
        assert!(svg.contains("data-constructor=\"A &lt;&amp;&gt; B\""), "{svg}");
        assert!(svg.contains("log scale"));
    }

    #[test]
    fn the_moving_average_line_starts_where_it_is_defined() {
        let rows: Vec<LapTimes> = (2000..2006)
            .map(|y| LapTimes {
                year: y,
                seconds: Some(90.0 + (y - 2000) as f64),
                moving_avg: (y >= 2004).then_some(92.0),
            })
            .collect();
        let svg = lap_times(&rows);
        assert_eq!(svg.matches("class=\"point lap-time\"").count(), 6);
        assert_eq!(svg.matches("class=\"point moving-avg\"").count(), 2);
        let avg = svg.split("class=\"series moving-avg\" d=\"").nth(1).unwrap();
        assert_eq!(avg.matches('M').count(), 1, "{avg}");
    }
}
