//! Data watchpoints without hardware: the ranges LLDB watches, and whether a memory access about
//! to run (decoded from the bytecode, its address taken from the operand stack) touches one.
//! Breakpoints on every instruction that may access the watched memory bring each access here.

use crate::access_bounds::{Base, may_touch};
use crate::memory_access::Access;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WatchKind {
    Write,
    Read,
    ReadWrite,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Watchpoint {
    /// The module whose instance's memory 0 is watched (see `crate::addr`).
    pub module: u32,
    pub start: u64,
    pub len: u64,
    pub kind: WatchKind,
}

#[derive(Default, Debug, Clone)]
pub struct Watchpoints {
    list: Vec<Watchpoint>,
}

fn overlaps((a, b): (u64, u64), w: &Watchpoint) -> bool {
    a < w.start.saturating_add(w.len) && w.start < b && a < b
}

impl Watchpoints {
    pub fn add(&mut self, w: Watchpoint) {
        if !self.list.contains(&w) {
            self.list.push(w);
        }
    }

    pub fn remove(&mut self, w: &Watchpoint) -> bool {
        let before = self.list.len();
        self.list.retain(|x| x != w);
        self.list.len() != before
    }

    pub fn clear(&mut self) {
        self.list.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn list(&self) -> &[Watchpoint] {
        &self.list
    }

    /// Modules whose memory is watched.
    pub fn modules(&self) -> Vec<u32> {
        let mut modules: Vec<u32> = self.list.iter().map(|w| w.module).collect();
        modules.sort_unstable();
        modules.dedup();
        modules
    }

    /// Whether any watchpoint cares about this kind of access at all (to choose which
    /// instructions need a breakpoint).
    /// Whether the access, whose address comes from `base` (see `crate::access_bounds`), may
    /// make an access a watchpoint of `module` watches; `initial_sp` bounds stack addresses.
    pub fn wants(&self, module: u32, access: &Access, base: Base, initial_sp: Option<u64>) -> bool {
        let base = match (base, initial_sp) {
            (Base::Stack(_), None) => Base::Unknown,
            _ => base,
        };
        access.memory == 0
            && self.list.iter().any(|w| {
                w.module == module
                    && match w.kind {
                        WatchKind::Write => access.writes(),
                        WatchKind::Read => access.reads(),
                        WatchKind::ReadWrite => true,
                    }
                    && may_touch(
                        base,
                        access,
                        initial_sp.unwrap_or(0),
                        w.start,
                        w.start.saturating_add(w.len),
                    )
            })
    }

    /// The watchpoint an access in `module`, with operand stack `stack` (bottom first), is about to
    /// trigger.
    pub fn hit(&self, module: u32, access: &Access, stack: &[u64]) -> Option<Watchpoint> {
        if access.memory != 0 {
            return None;
        }
        let (reads, writes) = access.ranges(stack)?;
        self.list.iter().copied().find(|w| {
            w.module == module
                && match w.kind {
                    WatchKind::Write => writes.iter().any(|r| overlaps(*r, w)),
                    WatchKind::Read => reads.iter().any(|r| overlaps(*r, w)),
                    WatchKind::ReadWrite => reads.iter().chain(&writes).any(|r| overlaps(*r, w)),
                }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_access::Shape;

    fn store(size: u32) -> Access {
        Access {
            memory: 0,
            offset: 0,
            shape: Shape::Store { size, values: 1 },
        }
    }

    fn load(size: u32) -> Access {
        Access {
            memory: 0,
            offset: 0,
            shape: Shape::Load { size },
        }
    }

    #[test]
    fn write_watch_sees_overlapping_stores_only() {
        let mut ws = Watchpoints::default();
        let w = Watchpoint {
            module: 0,
            start: 100,
            len: 4,
            kind: WatchKind::Write,
        };
        ws.add(w);
        assert_eq!(ws.hit(0, &store(4), &[100, 7]), Some(w));
        assert_eq!(ws.hit(0, &store(1), &[103, 7]), Some(w));
        assert_eq!(ws.hit(0, &store(4), &[104, 7]), None);
        assert_eq!(ws.hit(0, &store(8), &[96, 7]), Some(w));
        assert_eq!(ws.hit(0, &load(4), &[100]), None);
        assert_eq!(ws.hit(1, &store(4), &[100, 7]), None);
        let unknown = |access: &Access| ws.wants(0, access, Base::Unknown, None);
        assert!(unknown(&store(4)) && !unknown(&load(4)));
        // A store to a constant address elsewhere, or to the stack below the watched range, is
        // not wanted; a stack store is when the stack's bound is unknown.
        assert!(!ws.wants(0, &store(4), Base::Const(200), Some(64)));
        assert!(ws.wants(0, &store(4), Base::Const(98), Some(64)));
        assert!(!ws.wants(0, &store(4), Base::Stack(0), Some(64)));
        assert!(ws.wants(0, &store(4), Base::Stack(40), Some(64)));
        assert!(ws.wants(0, &store(4), Base::Stack(0), None));
    }

    #[test]
    fn read_and_access_watches() {
        let mut ws = Watchpoints::default();
        let r = Watchpoint {
            module: 0,
            start: 10,
            len: 2,
            kind: WatchKind::Read,
        };
        ws.add(r);
        assert_eq!(ws.hit(0, &load(4), &[8]), Some(r));
        assert_eq!(ws.hit(0, &store(4), &[8, 1]), None);
        ws.remove(&r);
        let a = Watchpoint {
            kind: WatchKind::ReadWrite,
            ..r
        };
        ws.add(a);
        assert_eq!(ws.hit(0, &store(4), &[8, 1]), Some(a));
        assert_eq!(ws.modules(), vec![0]);
    }

    #[test]
    fn bulk_copy_into_a_watched_range() {
        let mut ws = Watchpoints::default();
        let w = Watchpoint {
            module: 0,
            start: 200,
            len: 4,
            kind: WatchKind::Write,
        };
        ws.add(w);
        let copy = Access {
            memory: 0,
            offset: 0,
            shape: Shape::Copy,
        };
        assert_eq!(ws.hit(0, &copy, &[190, 0, 16]), Some(w));
        assert_eq!(ws.hit(0, &copy, &[190, 0, 10]), None);
        assert_eq!(ws.hit(0, &copy, &[190, 0, 0]), None);
    }
}
