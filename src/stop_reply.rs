//! Stop-reply fields gdbstub cannot produce: LLDB shows a `description` (hex text) with a signal
//! stop and treats `reason:exception` as an exception stop. They are appended to the T packet
//! gdbstub wrote, before it is sent.

/// Appends `key:value;` pairs to the last `$T…#xx` packet in `wire` (bytes about to be sent) and
/// fixes its checksum. Returns `None` if `wire` holds no complete T packet.
pub fn append_fields(wire: &[u8], fields: &[(&str, String)]) -> Option<Vec<u8>> {
    let start = wire.iter().rposition(|&b| b == b'$')?;
    let hash = start + wire[start..].iter().position(|&b| b == b'#')?;
    if wire.get(start + 1) != Some(&b'T') || wire.len() < hash + 3 {
        return None;
    }
    let mut payload = wire[start + 1..hash].to_vec();
    for (key, value) in fields {
        payload.extend_from_slice(key.as_bytes());
        payload.push(b':');
        payload.extend_from_slice(value.as_bytes());
        payload.push(b';');
    }
    let checksum = payload.iter().fold(0u8, |sum, b| sum.wrapping_add(*b));
    let mut out = wire[..start].to_vec();
    out.push(b'$');
    out.extend_from_slice(&payload);
    out.extend_from_slice(format!("#{checksum:02x}").as_bytes());
    out.extend_from_slice(&wire[hash + 3..]);
    Some(out)
}

/// Text as LLDB expects it in a `description` field: hex of its bytes.
pub fn hex_text(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(payload: &str) -> Vec<u8> {
        let sum = payload.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        format!("${payload}#{sum:02x}").into_bytes()
    }

    #[test]
    fn appends_and_fixes_the_checksum() {
        let wire = packet("T08thread:p01.01;00:0102;");
        let out = append_fields(&wire, &[("description", hex_text("div"))]).unwrap();
        assert_eq!(out, packet("T08thread:p01.01;00:0102;description:646976;"));
    }

    #[test]
    fn keeps_what_came_before_the_packet() {
        let mut wire = b"+".to_vec();
        wire.extend(packet("T05;"));
        let out = append_fields(&wire, &[("reason", "exception".into())]).unwrap();
        let mut expected = b"+".to_vec();
        expected.extend(packet("T05;reason:exception;"));
        assert_eq!(out, expected);
    }

    #[test]
    fn leaves_other_packets_alone() {
        assert_eq!(append_fields(&packet("OK"), &[("a", "b".into())]), None);
        assert_eq!(append_fields(b"$T05", &[("a", "b".into())]), None);
        assert_eq!(append_fields(b"", &[]), None);
    }
}
