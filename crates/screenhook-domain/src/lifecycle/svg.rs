//! The lifecycle as a picture: [`to_svg`] lays [`EDGES`] out in rows and draws them as a
//! self-contained SVG (no script, no style sheet, no font to load).
//!
//! The layout is a small, deterministic layered drawing:
//! 1. Cycles are broken by taking the edges in [`EDGES`] order and turning round any that would
//!    close one (unarchive, after archive), so every arrow but those points down.
//! 2. A state's row is its longest path from the states nothing leads to (the initial state).
//! 3. An arrow spanning several rows passes through a placeholder in each row between, so it
//!    runs between the boxes of those rows rather than through them.
//! 4. Each row is ordered by the barycentres of its neighbours (the order with the fewest
//!    crossings found is kept), then placed as close to its neighbours as the boxes allow.
//! 5. Edges between the same two states share one arrow. Each distinct label
//!    (`command [actor] / events`, as in the Mermaid diagram) gets a number, coloured by its
//!    actor; arrows carry the numbers and the legend beside the graph spells them out, so no
//!    long label has to fit between two arrows.

use std::fmt::Write as _;

use super::{Actor, EDGES, Edge, State};
use crate::markup::escape;

/// Box height.
const BOX_H: f64 = 50.0;
/// Vertical space between two rows of boxes, where the arrows bend.
const ROW_GAP: f64 = 92.0;
const MARGIN: f64 = 28.0;
/// Horizontal padding inside a box.
const PAD_X: f64 = 16.0;
/// Radius of the initial state's dot.
const DOT_R: f64 = 10.0;
const BADGE_H: f64 = 17.0;
/// How far a self-loop reaches out of its box.
const LOOP_REACH: f64 = 30.0;
const LEGEND_GAP: f64 = 56.0;
/// Legend lines longer than this (in characters) wrap.
const LEGEND_WRAP: usize = 58;

const INK: &str = "#1d2433";
const MUTED: &str = "#5f6b7d";
const MIXED: &str = "#5f6b7d";
const BOX_STROKE: &str = "#8793a6";

fn actor_colour(actor: Actor) -> &'static str {
    match actor {
        Actor::Customer => "#2451c7",
        Actor::Candidate => "#137a3c",
        Actor::Grader => "#be185d",
        Actor::Proctor => "#7b3fb5",
        Actor::Clock => "#b45309",
        Actor::Integrity => "#0e7490",
    }
}

const ACTORS: [Actor; 6] =
    [Actor::Customer, Actor::Candidate, Actor::Grader, Actor::Proctor, Actor::Clock, Actor::Integrity];

/// A coordinate, with one decimal at most.
fn n(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == 0.0 {
        return "0".into();
    }
    if r.fract() == 0.0 { format!("{r:.0}") } else { format!("{r:.1}") }
}

/// A rough width of `text` at `size` px (system sans-serif fonts vary; this errs wide).
fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    let per = if bold { 0.64 } else { 0.58 };
    text.chars().count() as f64 * size * per
}

fn mono_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.61
}

fn badge_width(number: usize) -> f64 {
    10.0 + 7.0 * number.to_string().len() as f64
}

/// The width of a row of badges for legend entries `labels` (0-based; shown from 1).
fn badges_width(labels: &[usize]) -> f64 {
    labels.iter().map(|&k| badge_width(k + 1)).sum::<f64>() + 3.0 * labels.len().saturating_sub(1) as f64
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    State(State),
    /// Where an arrow crosses a row it does not stop in.
    Pass,
}

#[derive(Debug, Clone)]
struct Item {
    kind: Kind,
    layer: usize,
    /// Extent left and right of `x` (the centre of the box or the passing line).
    left: f64,
    right: f64,
    /// Half the box width (the self-loop and the caption are outside it).
    half: f64,
    x: f64,
}

#[derive(Debug, Clone)]
struct Arrow {
    /// Item indices from the upper end to the lower one, placeholders between.
    chain: Vec<usize>,
    /// Heads: at the lower end (edges pointing down), at the upper end (turned-round edges,
    /// such as unarchive beside archive).
    down: bool,
    up: bool,
    /// Legend numbers (0-based), ascending, each once.
    labels: Vec<usize>,
}

struct Legend {
    entries: Vec<(String, Actor)>,
}

impl Legend {
    fn number(&mut self, edge: &Edge) -> usize {
        let text = edge.label();
        match self.entries.iter().position(|(t, _)| *t == text) {
            Some(i) => i,
            None => {
                self.entries.push((text, edge.command.actor()));
                self.entries.len() - 1
            }
        }
    }
}

fn insert_sorted(list: &mut Vec<usize>, k: usize) {
    if let Err(at) = list.binary_search(&k) {
        list.insert(at, k);
    }
}

/// Whether `to` is reachable from `from` over `edges`.
fn reaches(edges: &[(usize, usize)], from: usize, to: usize) -> bool {
    let mut seen = vec![false; edges.iter().map(|&(a, b)| a.max(b) + 1).max().unwrap_or(0).max(from + 1).max(to + 1)];
    let mut stack = vec![from];
    while let Some(s) = stack.pop() {
        if s == to {
            return true;
        }
        if std::mem::replace(&mut seen[s], true) {
            continue;
        }
        stack.extend(edges.iter().filter(|&&(a, _)| a == s).map(|&(_, b)| b));
    }
    false
}

/// Calls `f` with every order of `items` (Heap's algorithm; the first is `items` as given).
fn permutations(items: &mut [usize], f: &mut impl FnMut(&[usize])) {
    let len = items.len();
    let mut c = vec![0usize; len];
    f(items);
    let mut i = 1;
    while i < len {
        if c[i] < i {
            if i % 2 == 0 {
                items.swap(0, i);
            } else {
                items.swap(c[i], i);
            }
            f(items);
            c[i] += 1;
            i = 1;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
}

/// Minimises Σ w·(x − d)² keeping the order and `sep[i]` between items i and i+1 (pool
/// adjacent violators on the offsets).
fn place_row(desired: &[f64], weight: &[f64], sep: &[f64]) -> Vec<f64> {
    let mut offset = Vec::with_capacity(desired.len());
    let mut acc = 0.0;
    for i in 0..desired.len() {
        if i > 0 {
            acc += sep[i - 1];
        }
        offset.push(acc);
    }
    // Blocks of (weighted sum, weight, count).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::new();
    for i in 0..desired.len() {
        blocks.push((weight[i] * (desired[i] - offset[i]), weight[i], 1));
        while blocks.len() > 1 {
            let (s2, w2, c2) = blocks[blocks.len() - 1];
            let (s1, w1, c1) = blocks[blocks.len() - 2];
            if s1 / w1 <= s2 / w2 {
                break;
            }
            blocks.pop();
            let last = blocks.len() - 1;
            blocks[last] = (s1 + s2, w1 + w2, c1 + c2);
        }
    }
    let mut out = Vec::with_capacity(desired.len());
    for (s, w, c) in blocks {
        for _ in 0..c {
            out.push(s / w + offset[out.len()]);
        }
    }
    out
}

/// The head, the row and the labels of arrows that may share a placeholder.
type TrunkKey = (usize, usize, Vec<usize>);

struct Layout {
    items: Vec<Item>,
    rows: Vec<Vec<usize>>,
    arrows: Vec<Arrow>,
    /// Self-loops: item and legend numbers.
    loops: Vec<(usize, Vec<usize>)>,
    legend: Legend,
}

impl Layout {
    fn new() -> Layout {
        let written: Vec<&Edge> = EDGES.iter().filter(|e| !e.no_write).collect();
        let mut legend = Legend { entries: Vec::new() };
        let numbers: Vec<usize> = written.iter().map(|e| legend.number(e)).collect();
        let states: Vec<State> =
            State::ALL.iter().copied().filter(|s| written.iter().any(|e| e.from == *s || e.to == *s)).collect();
        let index = |s: State| states.iter().position(|x| *x == s).unwrap_or(0);

        // 1. Break cycles, in EDGES order.
        let mut forward: Vec<(usize, usize)> = Vec::new();
        // (upper, lower, head down, head up, labels): one per pair of states, either way.
        let mut pairs: Vec<(usize, usize, bool, bool, Vec<usize>)> = Vec::new();
        let mut loops: Vec<(usize, Vec<usize>)> = Vec::new();
        for (edge, &k) in written.iter().zip(&numbers) {
            let (a, b) = (index(edge.from), index(edge.to));
            if a == b {
                match loops.iter_mut().find(|(s, _)| *s == a) {
                    Some((_, labels)) => insert_sorted(labels, k),
                    None => loops.push((a, vec![k])),
                }
                continue;
            }
            if let Some((u, _, down, up, labels)) =
                pairs.iter_mut().find(|(u, l, ..)| (*u, *l) == (a, b) || (*u, *l) == (b, a))
            {
                if *u == a {
                    *down = true;
                } else {
                    *up = true;
                }
                insert_sorted(labels, k);
                continue;
            }
            if reaches(&forward, b, a) {
                pairs.push((b, a, false, true, vec![k]));
            } else {
                forward.push((a, b));
                pairs.push((a, b, true, false, vec![k]));
            }
        }

        // 2. Longest-path rows.
        let mut layer = vec![0usize; states.len()];
        loop {
            let mut changed = false;
            for &(a, b) in &forward {
                if layer[b] < layer[a] + 1 {
                    layer[b] = layer[a] + 1;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let depth = layer.iter().max().copied().unwrap_or(0) + 1;

        // Items: the states, then the placeholders of each long arrow.
        let mut items: Vec<Item> = states
            .iter()
            .zip(&layer)
            .map(|(&s, &l)| {
                let (half, mut right) = if s == State::Absent {
                    (DOT_R, DOT_R + 8.0 + text_width(&initial_caption(), 12.0, false))
                } else {
                    let w = text_width(s.node(), 14.0, true).max(mono_width(s.name(), 11.0)) + 2.0 * PAD_X;
                    (w / 2.0, w / 2.0)
                };
                if let Some((_, labels)) = loops.iter().find(|(i, _)| states[*i] == s) {
                    right = right.max(right + LOOP_REACH + 6.0 + badges_width(labels));
                }
                Item { kind: Kind::State(s), layer: l, left: half, right, half, x: 0.0 }
            })
            .collect();
        let mut arrows = Vec::new();
        // Arrows with the same head and the same labels (delete, from almost everywhere) join
        // into one trunk as soon as they reach a common row: one line and one arrowhead
        // instead of a sheaf.
        // ((head, row, labels), placeholder)
        let mut trunks: Vec<(TrunkKey, usize)> = Vec::new();
        for (upper, lower, down, up, labels) in pairs {
            let joins = down && !up;
            let mut chain = vec![upper];
            for l in layer[upper] + 1..layer[lower] {
                let key = (lower, l, labels.clone());
                let pass = match trunks.iter().find(|(k, _)| joins && *k == key) {
                    Some(&(_, pass)) => pass,
                    None => {
                        items.push(Item { kind: Kind::Pass, layer: l, left: 0.0, right: 0.0, half: 0.0, x: 0.0 });
                        if joins {
                            trunks.push((key, items.len() - 1));
                        }
                        items.len() - 1
                    }
                };
                chain.push(pass);
            }
            chain.push(lower);
            arrows.push(Arrow { chain, down, up, labels });
        }
        let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
        for (i, item) in items.iter().enumerate() {
            rows[item.layer].push(i);
        }
        let mut layout = Layout { items, rows, arrows, loops, legend };
        layout.order();
        layout.position();
        layout
    }

    /// Links between consecutive rows: (upper item, lower item, weight).
    fn links(&self) -> Vec<(usize, usize, f64)> {
        let mut out: Vec<(usize, usize, f64)> = Vec::new();
        for arrow in &self.arrows {
            for pair in arrow.chain.windows(2) {
                if out.iter().any(|&(a, b, _)| (a, b) == (pair[0], pair[1])) {
                    continue;
                }
                let both_pass = self.items[pair[0]].kind == Kind::Pass && self.items[pair[1]].kind == Kind::Pass;
                out.push((pair[0], pair[1], if both_pass { 3.0 } else { 1.0 }));
            }
        }
        out
    }

    fn crossings(&self, pos: &[usize], links: &[(usize, usize, f64)]) -> usize {
        let mut count = 0;
        for (i, &(a1, b1, _)) in links.iter().enumerate() {
            for &(a2, b2, _) in &links[i + 1..] {
                if self.items[a1].layer != self.items[a2].layer {
                    continue;
                }
                let (da, db) = (pos[a1] as i64 - pos[a2] as i64, pos[b1] as i64 - pos[b2] as i64);
                if da * db < 0 {
                    count += 1;
                }
            }
        }
        count
    }

    /// Step 4: orders each row by barycentres, then by swapping neighbours, then by trying
    /// every order of the small rows, from a few starting orders; keeps the fewest crossings.
    fn order(&mut self) {
        let links = self.links();
        let initial = self.rows.clone();
        let reversed: Vec<Vec<usize>> = initial.iter().map(|r| r.iter().rev().copied().collect()).collect();
        let mut best: Option<(usize, Vec<Vec<usize>>)> = None;
        for start in [initial, reversed] {
            let (c, rows) = self.sweep(start, &links);
            if best.as_ref().is_none_or(|(b, _)| c < *b) {
                best = Some((c, rows));
            }
        }
        if let Some((_, rows)) = best {
            self.rows = rows;
        }
    }

    fn positions(&self, rows: &[Vec<usize>]) -> Vec<usize> {
        let mut pos = vec![0usize; self.items.len()];
        for row in rows {
            for (k, &i) in row.iter().enumerate() {
                pos[i] = k;
            }
        }
        pos
    }

    fn sweep(&self, mut rows: Vec<Vec<usize>>, links: &[(usize, usize, f64)]) -> (usize, Vec<Vec<usize>>) {
        let mut best = rows.clone();
        let mut best_crossings = self.crossings(&self.positions(&rows), links);
        for round in 0..16 {
            let downward = round % 2 == 0;
            let layers: Vec<usize> =
                if downward { (1..rows.len()).collect() } else { (0..rows.len().saturating_sub(1)).rev().collect() };
            for l in layers {
                let pos = self.positions(&rows);
                let mut keyed: Vec<(f64, usize, usize)> = rows[l]
                    .iter()
                    .map(|&i| {
                        let neighbours: Vec<usize> = links
                            .iter()
                            .filter_map(|&(a, b, _)| match downward {
                                true if b == i => Some(pos[a]),
                                false if a == i => Some(pos[b]),
                                _ => None,
                            })
                            .collect();
                        let bary = if neighbours.is_empty() {
                            pos[i] as f64
                        } else {
                            neighbours.iter().sum::<usize>() as f64 / neighbours.len() as f64
                        };
                        (bary, pos[i], i)
                    })
                    .collect();
                keyed.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                rows[l] = keyed.into_iter().map(|(_, _, i)| i).collect();
            }
            let c = self.crossings(&self.positions(&rows), links);
            if c < best_crossings {
                best_crossings = c;
                best = rows.clone();
            }
        }
        // Then swap neighbours while that removes crossings.
        let mut improved = true;
        while improved {
            improved = false;
            for l in 0..best.len() {
                for k in 1..best[l].len() {
                    best[l].swap(k - 1, k);
                    let c = self.crossings(&self.positions(&best), links);
                    if c < best_crossings {
                        best_crossings = c;
                        improved = true;
                    } else {
                        best[l].swap(k - 1, k);
                    }
                }
            }
        }
        // Finally try every order of each small row against its neighbours.
        for _ in 0..4 {
            let mut changed = false;
            for l in 0..best.len() {
                if best[l].len() > 8 {
                    continue;
                }
                let near: Vec<(usize, usize, f64)> = links
                    .iter()
                    .copied()
                    .filter(|&(a, b, _)| self.items[a].layer == l || self.items[b].layer == l)
                    .collect();
                let mut pos = self.positions(&best);
                let mut lowest = self.crossings(&pos, &near);
                let mut row = best[l].clone();
                let mut winner = None;
                permutations(&mut row, &mut |perm| {
                    for (k, &i) in perm.iter().enumerate() {
                        pos[i] = k;
                    }
                    let c = self.crossings(&pos, &near);
                    if c < lowest {
                        lowest = c;
                        winner = Some(perm.to_vec());
                    }
                });
                if let Some(w) = winner {
                    best[l] = w;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let best_crossings = self.crossings(&self.positions(&best), links);
        (best_crossings, best)
    }

    fn separation(&self, a: usize, b: usize) -> f64 {
        let (ia, ib) = (&self.items[a], &self.items[b]);
        let gap = match (ia.kind, ib.kind) {
            (Kind::State(_), Kind::State(_)) => 40.0,
            (Kind::Pass, Kind::Pass) => 16.0,
            _ => 24.0,
        };
        ia.right + ib.left + gap
    }

    /// Places every row as close to its neighbours as the separations allow.
    fn position(&mut self) {
        let links = self.links();
        for row in &self.rows {
            let mut x = 0.0;
            for (k, &i) in row.iter().enumerate() {
                if k > 0 {
                    x += self.separation(row[k - 1], i);
                }
                self.items[i].x = x;
            }
        }
        for _ in 0..60 {
            for l in 0..self.rows.len() {
                let row = self.rows[l].clone();
                let mut desired = Vec::with_capacity(row.len());
                let mut weight = Vec::with_capacity(row.len());
                for &i in &row {
                    let (mut sum, mut total) = (0.0, 0.0);
                    for &(a, b, w) in &links {
                        let other = if a == i {
                            b
                        } else if b == i {
                            a
                        } else {
                            continue;
                        };
                        sum += w * self.items[other].x;
                        total += w;
                    }
                    if total == 0.0 {
                        desired.push(self.items[i].x);
                        weight.push(0.1);
                    } else {
                        desired.push(sum / total);
                        weight.push(total);
                    }
                }
                let sep: Vec<f64> = row.windows(2).map(|p| self.separation(p[0], p[1])).collect();
                for (&i, x) in row.iter().zip(place_row(&desired, &weight, &sep)) {
                    self.items[i].x = x;
                }
            }
        }
        let min = self.items.iter().map(|i| i.x - i.left).fold(f64::INFINITY, f64::min);
        for item in &mut self.items {
            item.x += MARGIN - min;
        }
    }

    fn top(&self, item: usize) -> f64 {
        MARGIN + self.items[item].layer as f64 * (BOX_H + ROW_GAP)
    }

    fn graph_right(&self) -> f64 {
        self.items.iter().map(|i| i.x + i.right).fold(0.0, f64::max)
    }

    fn graph_bottom(&self) -> f64 {
        MARGIN + self.rows.len() as f64 * (BOX_H + ROW_GAP) - ROW_GAP
    }

    /// The x of each arrow's end on the boxes' bottom and top sides, spread so arrows leave
    /// and enter a box side by side in the order of where they go.
    fn ports(&self) -> Vec<(f64, f64)> {
        let mut out: Vec<(f64, f64)> =
            self.arrows.iter().map(|a| (self.items[a.chain[0]].x, self.items[a.chain[a.chain.len() - 1]].x)).collect();
        for (s, item) in self.items.iter().enumerate() {
            if item.kind == Kind::Pass {
                continue;
            }
            // Bottom side: arrows whose upper end is s; top side: whose lower end is s.
            for bottom in [true, false] {
                let mut side: Vec<(f64, usize)> = self
                    .arrows
                    .iter()
                    .enumerate()
                    .filter_map(|(k, a)| {
                        let len = a.chain.len();
                        if bottom && a.chain[0] == s {
                            Some((self.items[a.chain[1]].x, k))
                        } else if !bottom && a.chain[len - 1] == s {
                            Some((self.items[a.chain[len - 2]].x, k))
                        } else {
                            None
                        }
                    })
                    .collect();
                side.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                // Arrows arriving along one trunk share its port.
                let mut slots: Vec<(Option<usize>, Vec<usize>)> = Vec::new();
                for &(_, arrow) in &side {
                    let chain = &self.arrows[arrow].chain;
                    let neighbour = if bottom { chain[1] } else { chain[chain.len() - 2] };
                    let shared = (self.items[neighbour].kind == Kind::Pass).then_some(neighbour);
                    match slots.iter_mut().find(|(n, _)| shared.is_some() && *n == shared) {
                        Some((_, arrows)) => arrows.push(arrow),
                        None => slots.push((shared, vec![arrow])),
                    }
                }
                let count = slots.len() as f64;
                let spacing = if count > 1.0 { (2.0 * item.half - 20.0).max(0.0) / (count - 1.0) } else { 0.0 };
                let spacing = spacing.min(18.0);
                for (k, (_, arrows)) in slots.iter().enumerate() {
                    let x = item.x + (k as f64 - (count - 1.0) / 2.0) * spacing;
                    for &arrow in arrows {
                        if bottom {
                            out[arrow].0 = x;
                        } else {
                            out[arrow].1 = x;
                        }
                    }
                }
            }
        }
        out
    }

    /// Each arrow as points from its upper end to its lower end: the ends on the boxes, and
    /// the top and bottom of each row it passes.
    fn arrow_points(&self, ports: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
        self.arrows
            .iter()
            .zip(ports)
            .map(|(arrow, &(from_x, to_x))| {
                let first = arrow.chain[0];
                let last = arrow.chain[arrow.chain.len() - 1];
                let start_y = if self.items[first].kind == Kind::State(State::Absent) {
                    self.top(first) + BOX_H / 2.0 + DOT_R
                } else {
                    self.top(first) + BOX_H
                };
                let mut points = vec![(from_x, start_y)];
                for &pass in &arrow.chain[1..arrow.chain.len() - 1] {
                    points.push((self.items[pass].x, self.top(pass)));
                    points.push((self.items[pass].x, self.top(pass) + BOX_H));
                }
                points.push((to_x, self.top(last)));
                points
            })
            .collect()
    }
}

fn initial_caption() -> String {
    format!("{} (no session yet)", State::Absent.name())
}

/// The cubic from `p` to `q` leaving and arriving vertically.
fn bend(p: (f64, f64), q: (f64, f64)) -> [(f64, f64); 4] {
    let mid = (p.1 + q.1) / 2.0;
    [p, (p.0, mid), (q.0, mid), q]
}

fn cubic_at(c: &[(f64, f64); 4], t: f64) -> (f64, f64) {
    let u = 1.0 - t;
    let (a, b, cc, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
    (a * c[0].0 + b * c[1].0 + cc * c[2].0 + d * c[3].0, a * c[0].1 + b * c[1].1 + cc * c[2].1 + d * c[3].1)
}

/// The SVG path of points joined by bends across the gaps and straight lines through rows,
/// from the arrow's tail to its head.
fn path_data(points: &[(f64, f64)]) -> String {
    let mut d = format!("M{} {}", n(points[0].0), n(points[0].1));
    for (k, pair) in points.windows(2).enumerate() {
        if k % 2 == 1 {
            let _ = write!(d, " L{} {}", n(pair[1].0), n(pair[1].1));
        } else {
            let [_, c1, c2, q] = bend(pair[0], pair[1]);
            let _ = write!(d, " C{} {} {} {} {} {}", n(c1.0), n(c1.1), n(c2.0), n(c2.1), n(q.0), n(q.1));
        }
    }
    d
}

#[derive(Clone, Copy)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }

    fn contains(&self, p: (f64, f64)) -> bool {
        p.0 >= self.x && p.0 <= self.x + self.w && p.1 >= self.y && p.1 <= self.y + self.h
    }
}

/// Writes a row of number badges with its left edge at `x`, centred on `y`.
fn badges(out: &mut String, numbers: &[usize], legend: &Legend, x: f64, y: f64) {
    let mut left = x;
    for &k in numbers {
        let w = badge_width(k + 1);
        let colour = actor_colour(legend.entries[k].1);
        let _ = write!(
            out,
            r##"<rect x="{}" y="{}" width="{}" height="{}" rx="8.5" fill="{colour}" stroke="#ffffff" stroke-width="1.5"/><text x="{}" y="{}" text-anchor="middle" font-size="11" font-weight="700" fill="#ffffff">{}</text>"##,
            n(left),
            n(y - BADGE_H / 2.0),
            n(w),
            n(BADGE_H),
            n(left + w / 2.0),
            n(y + 4.0),
            k + 1
        );
        left += w + 3.0;
    }
}

/// Splits a legend line at spaces into lines of at most [`LEGEND_WRAP`] characters.
fn wrap(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > LEGEND_WRAP {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// The lifecycle as a self-contained SVG (`class="diagram"`, scaled by its `viewBox`): the
/// states as boxes in rows, every written edge as an arrow (edges between the same two states
/// share one; self-loops loop), numbered, and a legend listing `n. command [actor] / events`.
/// Deterministic: the same state machine always gives the same bytes.
pub fn to_svg() -> String {
    let layout = Layout::new();
    let ports = layout.ports();
    let points = layout.arrow_points(&ports);

    // Boxes, for keeping labels off them.
    let boxes: Vec<Rect> = layout
        .items
        .iter()
        .enumerate()
        .filter(|(_, i)| i.kind != Kind::Pass)
        .map(|(k, i)| Rect { x: i.x - i.half - 3.0, y: layout.top(k) - 3.0, w: 2.0 * i.half + 6.0, h: BOX_H + 6.0 })
        .collect();
    // Every arrow sampled, to keep a label off the other arrows.
    let samples: Vec<Vec<(f64, f64)>> = points
        .iter()
        .map(|pts| {
            let mut s = Vec::new();
            for (k, pair) in pts.windows(2).enumerate() {
                if k % 2 == 0 {
                    let c = bend(pair[0], pair[1]);
                    s.extend((0..=24).map(|t| cubic_at(&c, f64::from(t) / 24.0)));
                } else {
                    s.extend((0..=8).map(|t| {
                        let t = f64::from(t) / 8.0;
                        (pair[0].0, pair[0].1 + t * (pair[1].1 - pair[0].1))
                    }));
                }
            }
            s
        })
        .collect();

    let mut placed: Vec<Rect> = Vec::new();
    // The self-loops' badges first: their place is fixed.
    let mut loop_shapes = Vec::new();
    for (item, labels) in &layout.loops {
        let it = &layout.items[*item];
        let right = it.x + it.half;
        let cy = layout.top(*item) + BOX_H / 2.0;
        let bx = right + LOOP_REACH + 4.0;
        placed.push(Rect { x: bx - 2.0, y: cy - BADGE_H / 2.0 - 2.0, w: badges_width(labels) + 4.0, h: BADGE_H + 4.0 });
        loop_shapes.push((right, cy, bx, labels));
    }
    let mut label_at: Vec<(f64, f64)> = Vec::new();
    for (k, arrow) in layout.arrows.iter().enumerate() {
        let w = badges_width(&arrow.labels) + 4.0;
        let gaps: Vec<[(f64, f64); 4]> = points[k].windows(2).step_by(2).map(|p| bend(p[0], p[1])).collect();
        // Prefer the middle of the gap nearest the arrow's tail, then the others.
        let mut order: Vec<usize> = (0..gaps.len()).collect();
        if !arrow.down {
            order.reverse();
        }
        let mut best: Option<(f64, (f64, f64), Rect)> = None;
        for (rank, &g) in order.iter().enumerate() {
            for (step, t) in [0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78].iter().enumerate() {
                let p = cubic_at(&gaps[g], *t);
                let rect = Rect { x: p.0 - w / 2.0, y: p.1 - BADGE_H / 2.0 - 2.0, w, h: BADGE_H + 4.0 };
                let hard = boxes.iter().chain(&placed).filter(|r| r.overlaps(&rect)).count() as f64;
                let crossed = samples
                    .iter()
                    .enumerate()
                    .filter(|(o, _)| *o != k)
                    .map(|(_, s)| s.iter().filter(|&&q| rect.contains(q)).count())
                    .sum::<usize>() as f64;
                let score = hard * 1000.0 + crossed * 4.0 + rank as f64 * 3.0 + step as f64;
                if best.as_ref().is_none_or(|(s, _, _)| score < *s) {
                    best = Some((score, p, rect));
                }
            }
        }
        let (p, rect) = best.map(|(_, p, r)| (p, r)).unwrap_or(((0.0, 0.0), Rect { x: 0.0, y: 0.0, w: 0.0, h: 0.0 }));
        placed.push(rect);
        label_at.push(p);
    }

    // The legend, beside the graph.
    let legend_x = layout.graph_right() + LEGEND_GAP;
    let mut legend = String::new();
    let mut y = MARGIN + 12.0;
    let _ = write!(
        legend,
        r#"<text x="{}" y="{}" font-size="15" font-weight="700" fill="{INK}">Transitions</text>"#,
        n(legend_x),
        n(y)
    );
    y += 12.0;
    let mut legend_right: f64 = legend_x;
    for (k, (text, _)) in layout.legend.entries.iter().enumerate() {
        y += 22.0;
        badges(&mut legend, &[k], &layout.legend, legend_x, y - 4.0);
        for (j, line) in wrap(text).iter().enumerate() {
            if j > 0 {
                y += 16.0;
            }
            let tx = legend_x + 30.0;
            legend_right = legend_right.max(tx + text_width(line, 12.5, false));
            let _ = write!(
                legend,
                r#"<text x="{}" y="{}" font-size="12.5" fill="{INK}">{}</text>"#,
                n(tx),
                n(y),
                escape(line)
            );
        }
    }
    y += 34.0;
    let _ = write!(
        legend,
        r#"<text x="{}" y="{}" font-size="13" font-weight="700" fill="{INK}">Actors</text>"#,
        n(legend_x),
        n(y)
    );
    let mut ax = legend_x;
    y += 22.0;
    for actor in ACTORS {
        let _ = write!(
            legend,
            r#"<rect x="{}" y="{}" width="12" height="12" rx="3" fill="{}"/><text x="{}" y="{}" font-size="12.5" fill="{INK}">{}</text>"#,
            n(ax),
            n(y - 10.0),
            actor_colour(actor),
            n(ax + 17.0),
            n(y),
            actor.as_str()
        );
        ax += 17.0 + text_width(actor.as_str(), 12.5, false) + 18.0;
    }
    legend_right = legend_right.max(ax);
    for note in [
        "Arrows are coloured by actor (grey: several). A number stands for",
        "the same transition wherever it appears; an arrow between two states",
        "carries every transition between them.",
    ] {
        y += 18.0;
        legend_right = legend_right.max(legend_x + text_width(note, 12.0, false));
        let _ = write!(
            legend,
            r#"<text x="{}" y="{}" font-size="12" fill="{MUTED}">{}</text>"#,
            n(legend_x),
            n(y),
            escape(note)
        );
    }
    let width = (legend_right + MARGIN).ceil();
    let height = (layout.graph_bottom().max(y) + MARGIN).ceil();

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="diagram" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-labelledby="lifecycle-title" font-family="system-ui, sans-serif"><title id="lifecycle-title">The invitation lifecycle: states, and the transitions between them with their commands, actors and events</title>"#,
        w = n(width),
        h = n(height)
    );
    out.push_str("<defs>");
    let colours: Vec<&str> = ACTORS.iter().map(|&a| actor_colour(a)).chain([MIXED]).collect();
    for colour in &colours {
        let _ = write!(
            out,
            r#"<marker id="{}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="{colour}"/></marker>"#,
            marker_of(colour)
        );
    }
    out.push_str("</defs>");
    let _ = write!(out, r##"<rect x="0" y="0" width="{}" height="{}" fill="#ffffff"/>"##, n(width), n(height));

    // Arrows below boxes and badges.
    out.push_str(r#"<g fill="none" stroke-width="1.6">"#);
    for (k, arrow) in layout.arrows.iter().enumerate() {
        let colour = arrow_colour(&arrow.labels, &layout.legend);
        let marker = format!("url(#{})", marker_of(colour));
        let _ = write!(out, r#"<path d="{}" stroke="{colour}""#, path_data(&points[k]));
        if arrow.down {
            let _ = write!(out, r#" marker-end="{marker}""#);
        }
        if arrow.up {
            let _ = write!(out, r#" marker-start="{marker}""#);
        }
        out.push_str("/>");
    }
    for &(right, cy, _, labels) in &loop_shapes {
        // Out of the box's right side and back in, leaving and arriving horizontally.
        let colour = arrow_colour(labels, &layout.legend);
        let (r, far) = (right, right + LOOP_REACH);
        let _ = write!(
            out,
            r#"<path d="M{} {} C{} {} {} {} {} {} C{} {} {} {} {} {}" stroke="{colour}" marker-end="url(#{})"/>"#,
            n(r),
            n(cy - 11.0),
            n(r + 18.0),
            n(cy - 11.0),
            n(far),
            n(cy - 9.0),
            n(far),
            n(cy),
            n(far),
            n(cy + 9.0),
            n(r + 18.0),
            n(cy + 11.0),
            n(r + 1.0),
            n(cy + 11.0),
            marker_of(colour)
        );
    }
    out.push_str("</g>");

    // States.
    for (k, item) in layout.items.iter().enumerate() {
        let Kind::State(state) = item.kind else { continue };
        let top = layout.top(k);
        if state == State::Absent {
            let cy = top + BOX_H / 2.0;
            let _ = write!(
                out,
                r#"<circle cx="{}" cy="{}" r="{DOT_R}" fill="{INK}"/><text x="{}" y="{}" font-size="12" fill="{MUTED}">{}</text>"#,
                n(item.x),
                n(cy),
                n(item.x + DOT_R + 8.0),
                n(cy + 4.0),
                escape(&initial_caption())
            );
            continue;
        }
        let _ = write!(
            out,
            r##"<rect x="{}" y="{}" width="{}" height="{BOX_H}" rx="10" fill="#f8faff" stroke="{BOX_STROKE}" stroke-width="1.3"/><text x="{}" y="{}" text-anchor="middle" font-size="14" font-weight="700" fill="{INK}">{}</text><text x="{}" y="{}" text-anchor="middle" font-size="11" font-family="ui-monospace, monospace" fill="{MUTED}">{}</text>"##,
            n(item.x - item.half),
            n(top),
            n(2.0 * item.half),
            n(item.x),
            n(top + 21.0),
            escape(state.node()),
            n(item.x),
            n(top + 38.0),
            escape(state.name())
        );
    }

    // Numbers.
    for (k, arrow) in layout.arrows.iter().enumerate() {
        let w = badges_width(&arrow.labels);
        let (x, y) = label_at[k];
        badges(&mut out, &arrow.labels, &layout.legend, x - w / 2.0, y);
    }
    for &(_, cy, bx, labels) in &loop_shapes {
        badges(&mut out, labels, &layout.legend, bx, cy);
    }

    out.push_str(&legend);
    out.push_str("</svg>\n");
    // One element a line, for readable diffs. No text or attribute holds "><" (the texts are
    // escaped), and whitespace between SVG elements is not drawn.
    out.replace("><", ">\n<")
}

fn marker_of(colour: &str) -> String {
    format!("lifecycle-arrow-{}", colour.trim_start_matches('#'))
}

/// The actor's colour when every label of an arrow has the same actor, grey otherwise.
fn arrow_colour(labels: &[usize], legend: &Legend) -> &'static str {
    let mut actors = labels.iter().map(|&k| legend.entries[k].1);
    match actors.next() {
        Some(first) if actors.all(|a| a == first) => actor_colour(first),
        _ => MIXED,
    }
}
