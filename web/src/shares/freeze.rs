//! A view's content made read-only for a share link: nothing in it leads to another view.
//!
//! The pages are written for their owner, with controls, forms and a link on every name. A
//! shared view keeps what it shows and drops every way out of it: the controls (`nav.controls`),
//! every form (search, the compared period), every element marked `go` (links to other views,
//! "Share this view"), and the `href` of every remaining link, so a name stays as text (an `a`
//! without `href` is not a link, in HTML and in SVG). Pages come from maud, which escapes `<` in
//! text and `"` in attributes, so tags can be found by scanning.

/// `html` (a page's content) without any way to another view, its first heading's "Your"
/// turned into `owner`'s name (already chosen by the owner to be shown).
pub fn freeze(html: &str, owner: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..=end];
        let name = tag_name(tag);
        let dropped = name == "form"
            || (name == "nav" && has_class(tag, "controls"))
            || (!name.is_empty() && !tag.starts_with("</") && has_class(tag, "go"));
        if dropped {
            rest = &rest[element_end(rest, name)..];
            continue;
        }
        if name == "a" && !tag.starts_with("</") {
            out.push_str(&without_attribute(tag, "href"));
        } else {
            out.push_str(tag);
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    let (linked, plain) = crate::ui::charts::link_text_attributes();
    let out = out.replace(&linked, &plain);
    let heading = "<h1>Your ";
    match out.find(heading) {
        Some(i) => format!(
            "{}<h1>{}’s {}",
            &out[..i],
            maud::html! { (owner) }.into_string(),
            &out[i + heading.len()..]
        ),
        None => out,
    }
}

/// The element name of a tag (`a` of `<a href…>` and of `</a>`); empty for comments and the like.
fn tag_name(tag: &str) -> &str {
    let t = tag.trim_start_matches('<').trim_start_matches('/');
    let n = t
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(t.len());
    &t[..n]
}

/// Whether an opening tag's `class` attribute holds `class`.
fn has_class(tag: &str, class: &str) -> bool {
    attribute(tag, "class").is_some_and(|v| v.split_whitespace().any(|c| c == class))
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let len = tag[i..].find('"')?;
    Some(&tag[i..i + len])
}

fn without_attribute(tag: &str, name: &str) -> String {
    let key = format!(" {name}=\"");
    match tag.find(&key) {
        Some(i) => {
            let value_end = i + key.len() + tag[i + key.len()..].find('"').unwrap_or(0) + 1;
            format!("{}{}", &tag[..i], &tag[value_end..])
        }
        None => tag.to_string(),
    }
}

/// The byte just past the element that starts `html` (its closing tag, counting nested
/// elements of the same name; a void or self-closed one ends with its tag).
fn element_end(html: &str, name: &str) -> usize {
    let first = html.find('>').map_or(html.len(), |i| i + 1);
    if html[..first].ends_with("/>") {
        return first;
    }
    let (open, close) = (format!("<{name}"), format!("</{name}>"));
    let mut depth = 1;
    let mut at = first;
    while depth > 0 {
        let next_open = html[at..].find(&open).map(|i| at + i).filter(|&i| {
            html[i + open.len()..]
                .chars()
                .next()
                .is_some_and(|c| c == ' ' || c == '>')
        });
        let Some(next_close) = html[at..].find(&close).map(|i| at + i) else {
            return html.len();
        };
        match next_open {
            Some(o) if o < next_close => {
                depth += 1;
                at = o + open.len();
            }
            _ => {
                depth -= 1;
                at = next_close + close.len();
            }
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_lose_their_address_and_ways_out_go_with_what_they_hold() {
        let page = concat!(
            "<p class=\"go\"><a href=\"/dashboard\">← Dashboard</a></p>",
            "<h1>Your 2024 in music</h1>",
            "<nav class=\"controls\" aria-label=\"Range\"><ul><li><a href=\"/dashboard?range=4w\">4w</a></li></ul>",
            "<form method=\"get\"><input name=\"from\"></form></nav>",
            "<form class=\"search\" action=\"/dashboard/search\"><input name=\"q\"><button>Search</button></form>",
            "<section class=\"go\" id=\"recaps\"><h2>Year recaps</h2><ul><li><a href=\"/x\">2023</a></li></ul></section>",
            "<ol><li><a class=\"name\" href=\"/dashboard/artist?name=Ada\">Ada &amp; Co</a> 3 h</li></ol>",
            "<svg><a class=\"name\" href=\"/dashboard/artist?name=B\"><text x=\"0\" fill=\"#1d6b4f\" text-decoration=\"underline\">1. B</text></a><rect/></svg>",
            "<p class=\"hint go\">Each year: <a href=\"/y\">2023</a></p><p>Kept</p>",
        );
        let frozen = freeze(page, "Ana <3");
        assert_eq!(
            frozen,
            concat!(
                "<h1>Ana &lt;3’s 2024 in music</h1>",
                "<ol><li><a class=\"name\">Ada &amp; Co</a> 3 h</li></ol>",
                "<svg><a class=\"name\"><text x=\"0\" fill=\"#1b1b1f\">1. B</text></a><rect/></svg>",
                "<p>Kept</p>",
            )
        );
        assert!(!frozen.contains("href"));
    }

    #[test]
    fn nested_elements_of_the_same_name_are_dropped_whole() {
        let page = "<section class=\"go\"><section><p>a</p></section><p>b</p></section><p>c</p>";
        assert_eq!(freeze(page, "Ana"), "<p>c</p>");
        assert_eq!(freeze("<h1>Listening</h1>", "Ana"), "<h1>Listening</h1>");
    }
}
