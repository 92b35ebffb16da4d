//! Salesforce record ids: a 3-character key prefix naming the object, 12 more characters,
//! and the 3-character case-safe suffix the REST API adds (18 in all). Filters and URLs
//! accept the 15-character form too.

use rand::Rng;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SUFFIX: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// The `n`th id with this key prefix, in its 18-character form.
pub fn id(prefix: &str, n: u64) -> String {
    let mut digits = [b'0'; 9];
    let mut rest = n;
    for d in digits.iter_mut().rev() {
        *d = BASE62[(rest % 62) as usize];
        rest /= 62;
    }
    // "Sm" stands where Salesforce puts the pod; the reserved character is 0.
    let short = format!("{prefix}Sm0{}", String::from_utf8_lossy(&digits));
    long(&short).expect("15 characters")
}

/// The 18-character form of a 15- or 18-character id; `None` for anything else.
pub fn long(id: &str) -> Option<String> {
    if !(id.len() == 15 || id.len() == 18) || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let short = &id.as_bytes()[..15];
    let mut out = String::from_utf8_lossy(short).into_owned();
    for chunk in short.chunks(5) {
        let flags = chunk
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .fold(0usize, |f, (i, _)| f | 1 << i);
        out.push(SUFFIX[flags] as char);
    }
    // An 18-character id must carry its own suffix (in any case).
    if id.len() == 18 && !id[15..].eq_ignore_ascii_case(&out[15..]) {
        return None;
    }
    Some(out)
}

/// Whether two ids name the same record (either may be 15 or 18 characters).
pub fn same(a: &str, b: &str) -> bool {
    match (long(a), long(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// A random version-4 UUID, lower case (conversation identifiers, entry identifiers).
pub fn uuid(rng: &mut impl Rng) -> String {
    let a: u128 = rng.gen();
    let v = (a & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_case_safe_suffix_and_match_in_both_forms() {
        // Salesforce's own example: 001A0000006Vm9r has the suffix IAC.
        assert_eq!(long("001A0000006Vm9r").unwrap(), "001A0000006Vm9rIAC");
        let id = id("0Mw", 12_345);
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("0MwSm0"));
        assert!(same(&id, &id[..15]));
        assert!(!same(&id, "0MwSm0000000000"));
        assert!(long("0Mw").is_none());
        assert!(long("001A0000006Vm9rXXX").is_none(), "a wrong suffix");
        let u = uuid(&mut rand::thread_rng());
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
