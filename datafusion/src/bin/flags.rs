//! `--name value` flags of the two binaries (a handful, so no argument-parser dependency).

use std::collections::HashMap;

/// The flags given, checked against `known` (name, default, help).
pub fn parse(usage: &str, known: &[(&str, &str, &str)]) -> Result<HashMap<String, String>, String> {
    let mut values: HashMap<String, String> =
        known.iter().map(|(k, d, _)| ((*k).to_string(), (*d).to_string())).collect();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            let mut text = format!("{usage}\n\noptions:\n");
            for (k, d, h) in known {
                text.push_str(&format!("  --{k} <value>  {h} (default: {d})\n"));
            }
            return Err(text);
        }
        let name = arg.strip_prefix("--").ok_or_else(|| format!("unexpected argument {arg:?}"))?;
        if !values.contains_key(name) {
            return Err(format!("unknown option --{name}; try --help"));
        }
        let value = args.next().ok_or_else(|| format!("--{name} needs a value"))?;
        values.insert(name.to_string(), value);
    }
    Ok(values)
}

/// A flag's value as a number.
pub fn number<T: std::str::FromStr>(
    values: &HashMap<String, String>,
    name: &str,
) -> Result<T, String> {
    values[name].parse().map_err(|_| format!("--{name} {:?}: not a valid number", values[name]))
}
