//! The delivery chart, drawn on the server as SVG: stacked bars of delivered, failed and
//! pending deliveries per bucket, and the latency percentiles of the attempts as lines on a
//! second axis. No script and no style attribute, so it passes the page's CSP.

use std::fmt::Write as _;

use screenhook_domain::Millis;
use screenhook_store::DeliveryBucket;
use screenhook_web::escape;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 56.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 30.0;

/// A round axis maximum at or above `value` (1, 2 or 5 times a power of ten).
fn nice(value: f64) -> f64 {
    if value <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|m| *m >= value).unwrap_or(10.0 * magnitude)
}

/// `HH:MM` for buckets shorter than a day, else `MM-DD HH:MM`.
fn tick(start_ms: i64, bucket: Millis) -> String {
    let full = crate::view::when(screenhook_domain::Timestamp::from_millis(start_ms));
    let full = full.trim_end_matches(" UTC");
    if bucket < Millis::HOUR { full[11..].to_owned() } else { full[5..].to_owned() }
}

/// The chart of `series`, whose buckets are `bucket` long.
pub fn deliveries(series: &[DeliveryBucket], bucket: Millis) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let max_count = series.iter().map(|b| b.delivered + b.failed + b.pending).max().unwrap_or(0);
    let max_latency = series.iter().filter_map(|b| b.latency_p99_ms.or(b.latency_p95_ms)).max().unwrap_or(0);
    let y_max = nice(f64::from(max_count));
    let l_max = nice(f64::from(max_latency));
    let n = series.len().max(1) as f64;
    let slot = plot_w / n;
    let bar = (slot * 0.72).max(1.0);
    let y = |count: f64| TOP + plot_h - count / y_max * plot_h;
    let ly = |ms: f64| TOP + plot_h - ms / l_max * plot_h;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="Deliveries over time" font-family="system-ui, sans-serif" font-size="11">"##
    );
    // Grid and axes.
    for i in 0..=4 {
        let value = y_max * f64::from(i) / 4.0;
        let at = y(value);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{at:.1}" x2="{:.1}" y2="{at:.1}" stroke="#e5e9f0"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#5f6b7d">{}</text><text x="{:.1}" y="{:.1}" fill="#2451c7">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            at + 4.0,
            value.round(),
            WIDTH - RIGHT + 6.0,
            at + 4.0,
            (l_max * f64::from(i) / 4.0).round(),
        );
    }
    let _ = write!(
        svg,
        r##"<text x="{LEFT}" y="{:.1}" fill="#5f6b7d">deliveries</text><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#2451c7">ms</text>"##,
        TOP - 3.0,
        WIDTH - 4.0,
        TOP - 3.0,
    );
    // Stacked bars, bottom up: delivered, failed, pending.
    for (i, b) in series.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let mut base = 0.0;
        for (count, colour, what) in
            [(b.delivered, "#2e9d5b", "delivered"), (b.failed, "#d2453b", "failed"), (b.pending, "#e3a52b", "pending")]
        {
            if count == 0 {
                continue;
            }
            let top = y(base + f64::from(count));
            let height = y(base) - top;
            let _ = write!(
                svg,
                r##"<rect x="{x:.1}" y="{top:.1}" width="{bar:.1}" height="{height:.1}" fill="{colour}"><title>{} · {count} {what}</title></rect>"##,
                escape(&tick(b.start.as_millis(), bucket)),
            );
            base += f64::from(count);
        }
    }
    // Latency lines through the buckets that had attempts.
    for (pick, colour, dash) in [(0usize, "#7e97d8", "4 3"), (1usize, "#2451c7", ""), (2usize, "#111a2e", "2 2")] {
        let points: Vec<String> = series
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let ms = [b.latency_p50_ms, b.latency_p95_ms, b.latency_p99_ms][pick]?;
                Some(format!("{:.1},{:.1}", LEFT + slot * (i as f64 + 0.5), ly(f64::from(ms))))
            })
            .collect();
        match points.len() {
            0 => {}
            1 => {
                let (px, py) = points[0].split_once(',').expect("x,y");
                let _ = write!(svg, r##"<circle cx="{px}" cy="{py}" r="3" fill="{colour}"/>"##);
            }
            _ => {
                let dash = if dash.is_empty() { String::new() } else { format!(r#" stroke-dasharray="{dash}""#) };
                let _ = write!(
                    svg,
                    r##"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.6"{dash}/>"##,
                    points.join(" ")
                );
            }
        }
    }
    // About eight time labels.
    let every = (series.len() / 8).max(1);
    for (i, b) in series.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#5f6b7d">{}</text>"##,
            LEFT + slot * (i as f64 + 0.5),
            HEIGHT - 10.0,
            escape(&tick(b.start.as_millis(), bucket)),
        );
    }
    if max_count == 0 {
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#5f6b7d" font-size="14">No deliveries in this window</text>"##,
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use screenhook_domain::Timestamp;

    fn bucket(i: i64, delivered: u32, failed: u32, pending: u32, p95: Option<u32>) -> DeliveryBucket {
        DeliveryBucket {
            start: Timestamp::from_millis(1_800_000_000_000 + i * 60_000),
            delivered,
            failed,
            pending,
            latency_p50_ms: p95.map(|p| p / 2),
            latency_p95_ms: p95,
            latency_p99_ms: p95.map(|p| p * 2),
        }
    }

    #[test]
    fn axes_are_round() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(12.0), 20.0);
        assert_eq!(nice(450.0), 500.0);
    }

    #[test]
    fn bars_and_lines_follow_the_series() {
        let series = [bucket(0, 3, 1, 0, Some(40)), bucket(1, 0, 0, 0, None), bucket(2, 0, 0, 2, Some(80))];
        let svg = deliveries(&series, Millis::MINUTE);
        assert_eq!(svg.matches("<rect").count(), 3, "one rect per non-empty segment");
        assert!(svg.contains("3 delivered") && svg.contains("1 failed") && svg.contains("2 pending"));
        assert_eq!(svg.matches("<polyline").count(), 3, "p50, p95 and p99");
        assert!(!svg.contains("<script") && !svg.contains("style="));
        assert!(!svg.contains("No deliveries"));
    }

    #[test]
    fn an_empty_window_says_so() {
        let svg = deliveries(&[bucket(0, 0, 0, 0, None)], Millis::MINUTE);
        assert!(svg.contains("No deliveries in this window"));
        assert!(!svg.contains("<rect"));
    }
}
