//! Helper functions rules may call, beyond rhai's standard value packages.
//!
//! `count_where(rows, field, value)` counts the rows (maps) of a subtable whose `field` equals
//! `value`: the same kind and value, numbers compared numerically; rows that are not maps
//! and cells of other kinds do not count. `sum_of(rows, field)` adds up the numbers in
//! `field`, skipping missing and non-numeric cells; the sum is an integer when every number
//! is one, a decimal otherwise. The fast path (`fast.rs`) implements the same definitions.

use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position};

pub fn register(engine: &mut Engine) {
    engine.register_fn("count_where", count_where);
    engine.register_fn("sum_of", sum_of);
}

fn cell(row: &Dynamic, field: &str) -> Option<Dynamic> {
    let map = row.read_lock::<Map>()?;
    map.get(field).cloned()
}

fn equal(a: &Dynamic, b: &Dynamic) -> bool {
    if a.is_unit() || b.is_unit() {
        return a.is_unit() && b.is_unit();
    }
    if let (Ok(x), Ok(y)) = (a.as_bool(), b.as_bool()) {
        return x == y;
    }
    if let (Ok(x), Ok(y)) = (a.as_int(), b.as_int()) {
        return x == y;
    }
    let number = |d: &Dynamic| d.as_int().map(|i| i as f64).or_else(|_| d.as_float());
    if let (Ok(x), Ok(y)) = (number(a), number(b)) {
        return x == y;
    }
    if a.is_string() && b.is_string() {
        return a.clone().into_immutable_string().ok() == b.clone().into_immutable_string().ok();
    }
    false
}

fn count_where(rows: Array, field: ImmutableString, value: Dynamic) -> i64 {
    rows.iter().filter(|row| cell(row, &field).is_some_and(|c| equal(&c, &value))).count() as i64
}

fn sum_of(rows: Array, field: ImmutableString) -> Result<Dynamic, Box<EvalAltResult>> {
    let mut int_sum: Option<i64> = Some(0);
    let mut float_sum = 0.0;
    let mut all_ints = true;
    for row in &rows {
        let Some(value) = cell(row, &field) else { continue };
        if let Ok(i) = value.as_int() {
            int_sum = int_sum.and_then(|s| s.checked_add(i));
            float_sum += i as f64;
        } else if let Ok(f) = value.as_float() {
            all_ints = false;
            float_sum += f;
        }
    }
    match (all_ints, int_sum) {
        (true, Some(sum)) => Ok(Dynamic::from_int(sum)),
        (true, None) => {
            Err(Box::new(EvalAltResult::ErrorArithmetic("sum_of: integer overflow".into(), Position::NONE)))
        }
        (false, _) => Ok(Dynamic::from_float(float_sum)),
    }
}
