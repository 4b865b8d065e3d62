//! A record's (or row's) map while it is processed, with each slot's place in it tracked.
//!
//! `serde_json`'s maps keep insertion order (cedar-policy turns on `preserve_order`) and hash
//! every key with SipHash on each lookup. Processing one IQC record used to look keys up
//! about 200 times; hashing was a fifth of its cost. Here the map is walked once, when the
//! submission is filtered, and from then on a slot's value is found by its position.
//!
//! Positions stay valid because nothing is removed while a level is processed: a value that
//! must go (a hidden field, a computed field without a value) is overwritten with `null`, a
//! tombstone, which rules read exactly like an absent value, and [`Tracked::finish`] drops
//! the tombstones in one pass at the end. New keys are appended, so they take the next
//! position.

use serde_json::{Map, Value};

/// A slot's processing state in one level.
#[derive(Clone, Copy, Debug)]
pub(super) struct SlotState {
    /// Position of the slot's value in the map, or [`ABSENT`].
    position: u32,
    pub visible: bool,
    pub required: bool,
}

const ABSENT: u32 = u32::MAX;

impl Default for SlotState {
    fn default() -> Self {
        SlotState { position: ABSENT, visible: true, required: false }
    }
}

pub(super) struct Tracked {
    pub map: Map<String, Value>,
    pub states: Vec<SlotState>,
    tombstones: bool,
}

impl Tracked {
    /// Filters the submitted map with `keep(key, value) -> Some(slot index)` to keep the entry
    /// for that slot, `None` to drop it. `states` is a reused buffer.
    pub fn new(
        mut map: Map<String, Value>,
        slots: usize,
        mut states: Vec<SlotState>,
        mut keep: impl FnMut(&str, &mut Value) -> Option<usize>,
    ) -> Tracked {
        states.clear();
        states.resize(slots, SlotState::default());
        let mut kept = 0;
        // `retain` visits the entries in order and keeps their order.
        map.retain(|key, value| match keep(key, value) {
            Some(index) => {
                states[index].position = kept;
                kept += 1;
                true
            }
            None => false,
        });
        Tracked { map, states, tombstones: false }
    }

    /// The slot's value, if it has one (a tombstone reads as `null`).
    pub fn get(&self, index: usize) -> Option<&Value> {
        let position = self.states[index].position;
        if position == ABSENT {
            return None;
        }
        self.map.values().nth(position as usize)
    }

    pub fn get_mut(&mut self, index: usize) -> Option<&mut Value> {
        let position = self.states[index].position;
        if position == ABSENT {
            return None;
        }
        self.map.values_mut().nth(position as usize)
    }

    /// Whether the slot has a value that is not a tombstone.
    pub fn has(&self, index: usize) -> bool {
        self.get(index).is_some_and(|value| !value.is_null())
    }

    /// Sets the slot's value; `key` is the slot's key, used only when the map has none yet.
    pub fn set(&mut self, index: usize, key: &str, value: Value) {
        if let Some(slot) = self.get_mut(index) {
            *slot = value;
            return;
        }
        self.states[index].position = self.map.len() as u32;
        let replaced = self.map.insert(key.to_owned(), value);
        debug_assert!(replaced.is_none(), "every key in the map is tracked");
    }

    /// Removes the slot's value, leaving a tombstone until [`Tracked::finish`].
    pub fn remove(&mut self, index: usize) {
        if let Some(slot) = self.get_mut(index) {
            *slot = Value::Null;
            self.tombstones = true;
        }
    }

    /// The finished map, without tombstones, and the states buffer for reuse.
    pub fn finish(mut self) -> (Map<String, Value>, Vec<SlotState>) {
        if self.tombstones {
            self.map.retain(|_, value| !value.is_null());
        }
        (self.map, self.states)
    }
}

/// Where a level sits in the record, for the JSON pointers of issues. A row's pointer is
/// only written out when something must be reported there, which is rare.
#[derive(Clone, Copy)]
pub(super) enum Base<'a> {
    Root,
    /// Row `.1` of the subtable at pointer `.0`.
    Row(&'a str, usize),
}

impl Base<'_> {
    /// The pointer of `key` at this level.
    pub fn pointer(&self, key: &str) -> String {
        match self {
            Base::Root => super::pointer("", key),
            Base::Row(table, row) => super::pointer(&format!("{table}/{row}"), key),
        }
    }
}
