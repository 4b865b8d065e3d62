//! ISO 8601 durations as SLAs and timers write them (`PT8H`, `P2D`, `P1DT12H`, `PT30M`,
//! `P1W`), in milliseconds. Months and years are refused: their length depends on the
//! calendar, and an SLA in a factory is counted in hours and days.

/// Milliseconds in the duration, or why it is not one we accept.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let rest = text.strip_prefix('P').ok_or_else(|| format!("“{text}” must start with P (e.g. PT8H, P2D)"))?;
    if rest.is_empty() {
        return Err(format!("“{text}” has no amount"));
    }
    let mut total: i64 = 0;
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in rest.chars() {
        match c {
            '0'..='9' => number.push(c),
            'T' if !in_time && number.is_empty() => in_time = true,
            unit => {
                let amount: i64 = number.parse().map_err(|_| format!("“{text}”: a number must come before {unit}"))?;
                number.clear();
                let millis = match (in_time, unit) {
                    (false, 'W') => 7 * 86_400_000,
                    (false, 'D') => 86_400_000,
                    (true, 'H') => 3_600_000,
                    (true, 'M') => 60_000,
                    (true, 'S') => 1_000,
                    (false, 'Y' | 'M') => {
                        return Err(format!("“{text}”: months and years are not accepted; use days"));
                    }
                    _ => return Err(format!("“{text}”: unexpected “{unit}”")),
                };
                total = amount
                    .checked_mul(millis)
                    .and_then(|m| total.checked_add(m))
                    .ok_or_else(|| format!("“{text}” is too long"))?;
                any = true;
            }
        }
    }
    if !number.is_empty() || !any {
        return Err(format!("“{text}” ends without a unit"));
    }
    Ok(total)
}
