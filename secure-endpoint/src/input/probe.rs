//! The unknown-field probe: a value that an open map captured whole (the leftovers of a
//! struct with a flattened field, or a map of arbitrary values) is unknown when nothing
//! typed reads it.

use serde_json::Value;

use super::ValidInput;
use super::path::Segment;
use super::strict::{self, Source};

/// A value captured whole by an open map (the leftovers of a struct with a flattened
/// field, or a map of arbitrary values) is unknown when `T` still deserializes with two
/// unrelated poisons in its place: nothing typed reads it.
pub(super) fn unknown_by_probe<T: ValidInput>(
    root: &Value,
    captured: &[(String, Vec<Segment>)],
    source: Source,
) -> Vec<String> {
    let poisons = [
        serde_json::json!({ "\u{0}secure-endpoint-probe": [true] }),
        serde_json::json!(-0.5),
    ];
    let mut unknown: Vec<String> = Vec::new();
    // One copy of the document for every probe: each poison is swapped into its slot and
    // the original put back, so a body costs one clone however many values it probes.
    let mut probe = root.clone();
    for (rendered, segments) in captured {
        // A child of an unknown value is unknown with it: not probed, not reported.
        let inside_unknown = unknown.iter().any(|outer| {
            rendered
                .strip_prefix(outer.as_str())
                .is_some_and(|rest| rest.starts_with(['.', '[']))
        });
        if inside_unknown {
            continue;
        }
        let Some(original) = value_at(&mut probe, segments).map(Value::take) else {
            continue;
        };
        let accepted_every_poison = poisons.iter().all(|poison| {
            match value_at(&mut probe, segments) {
                Some(slot) => *slot = poison.clone(),
                None => return false,
            }
            strict::accepts::<T>(&probe, source)
        });
        if let Some(slot) = value_at(&mut probe, segments) {
            *slot = original;
        }
        if accepted_every_poison {
            unknown.push(rendered.clone());
        }
    }
    unknown
}

fn value_at<'v>(root: &'v mut Value, segments: &[Segment]) -> Option<&'v mut Value> {
    let mut at = root;
    for segment in segments {
        at = match segment {
            Segment::Key(key) => at.as_object_mut()?.get_mut(key)?,
            Segment::Index(index) => at.as_array_mut()?.get_mut(*index)?,
        };
    }
    Some(at)
}
