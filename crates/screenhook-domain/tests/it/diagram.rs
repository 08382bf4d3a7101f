//! The lifecycle picture: every state and transition drawn, well-formed, nothing active in it,
//! the same bytes every time.

use screenhook_domain::lifecycle::{self, EDGES, State};

/// Checks that `svg` is well-formed XML as far as a page embedding it cares: tags nest and
/// close, attribute values are quoted, and text holds no raw `<` or stray `&`. Returns the
/// element names in document order and the texts.
fn parse(svg: &str) -> (Vec<String>, Vec<String>) {
    let mut open: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut texts = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        check_text(text);
        if !text.trim().is_empty() {
            texts.push(text.to_owned());
        }
        let end = rest[start..].find('>').expect("tag closes") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name), "</{name}> closes the open element");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name = tag.split_whitespace().next().expect("element name").to_owned();
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "element name {name}");
        check_attributes(&tag[name.len()..]);
        names.push(name.clone());
        if !self_closing {
            open.push(name);
        }
    }
    assert!(rest.trim().is_empty(), "nothing after the root element");
    assert!(open.is_empty(), "unclosed: {open:?}");
    (names, texts)
}

fn check_text(text: &str) {
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        rest = &rest[at + 1..];
        let entity = rest.split(';').next().unwrap_or_default();
        assert!(["amp", "lt", "gt", "quot", "#39"].contains(&entity), "stray & in {text:?}");
    }
}

fn check_attributes(mut attrs: &str) {
    loop {
        attrs = attrs.trim_start();
        if attrs.is_empty() {
            return;
        }
        let eq = attrs.find('=').expect("attribute has a value");
        let name = &attrs[..eq];
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':'), "attribute {name}");
        assert!(!name.to_ascii_lowercase().starts_with("on"), "no event handler: {name}");
        assert!(attrs[eq + 1..].starts_with('"'), "{name} is quoted");
        let close = attrs[eq + 2..].find('"').expect("quote closes") + eq + 2;
        let value = &attrs[eq + 2..close];
        assert!(!value.contains('<'), "{name}={value:?}");
        check_text(value);
        attrs = &attrs[close + 1..];
    }
}

#[test]
fn the_svg_is_well_formed_and_scales() {
    let svg = lifecycle::to_svg();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"diagram\" viewBox=\"0 0 "), "{svg}");
    let (names, _) = parse(&svg);
    assert_eq!(names[0], "svg");
    assert_eq!(names.iter().filter(|n| *n == "svg").count(), 1);
}

#[test]
fn the_svg_is_inert_and_self_contained() {
    let svg = lifecycle::to_svg().to_lowercase();
    for banned in ["<script", "<style", " style=", "javascript:", "href", "@import", "<foreignobject", "<image"] {
        assert!(!svg.contains(banned), "the diagram contains {banned:?}");
    }
    // url(...) only for the arrowheads defined inside it.
    for (at, _) in svg.match_indices("url(") {
        assert!(svg[at..].starts_with("url(#lifecycle-arrow-"), "{}", &svg[at..at + 40]);
    }
}

#[test]
fn the_svg_draws_every_state_and_transition() {
    let svg = lifecycle::to_svg();
    let (_, texts) = parse(&svg);
    let all = texts.join(" ");
    for state in State::ALL {
        assert!(texts.iter().any(|t| t.contains(state.name())), "state {} is drawn", state.name());
    }
    for edge in EDGES.iter().filter(|e| !e.no_write) {
        assert!(all.contains(edge.command.as_str()), "{} is listed", edge.command.as_str());
        for event in edge.events {
            assert!(all.contains(event.name()), "{} is listed", event.name());
        }
    }
    // One legend entry per distinct label, numbered from 1, in EDGES order.
    let mut labels: Vec<String> = Vec::new();
    for edge in EDGES.iter().filter(|e| !e.no_write) {
        if !labels.contains(&edge.label()) {
            labels.push(edge.label());
        }
    }
    let joined: String = texts.concat();
    let mut from = 0;
    for label in &labels {
        let first_word = label.split(' ').next().unwrap();
        let at = joined[from..].find(first_word).unwrap_or_else(|| panic!("{label} after the previous entry")) + from;
        from = at;
    }
    // The Mermaid labels and the legend agree, words and all.
    let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    for label in &labels {
        assert!(all.contains(&words(label)[0]));
        for word in words(label) {
            assert!(all.contains(&word), "{word} of {label:?}");
        }
    }
    // Each arrow carries numbers; the legend spells out as many as there are labels.
    assert!(texts.iter().any(|t| t == &labels.len().to_string()));
    assert!(!texts.iter().any(|t| t == &(labels.len() + 1).to_string()));
}

#[test]
fn the_svg_is_deterministic() {
    assert_eq!(lifecycle::to_svg(), lifecycle::to_svg());
    insta::assert_snapshot!("lifecycle_svg", lifecycle::to_svg());
}
