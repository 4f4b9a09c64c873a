//! Bookkeeping for every breakpoint the stub wants planted in Wasmtime: the user's (`Z0`), the
//! temporary ones that emulate a single step, and which of them a hit belongs to.
//!
//! Wasmtime's breakpoints are refcounted per module and pc; we keep one host breakpoint per site
//! no matter how many reasons want it, so removing a step's temporaries never removes the user's
//! breakpoint at the same place and vice versa.
//!
//! Every host edit re-publishes the module's compiled code, which costs far more than a stop. A
//! debugger stepping over a breakpoint removes it, steps, plants it again, and every step plants
//! and drops temporaries at the same few places, so a site no longer wanted is left planted
//! ("lingering") until the program stops there, when it is removed before resuming. A stop at a
//! lingering site is never reported, so the client sees exactly the breakpoints it asked for.
//! Only sites where the program has stopped exactly linger: Wasmtime moves a breakpoint it has no
//! stop for to a later instruction by rules of its own, and a stop there could not be told apart
//! from one the client asked for.

use crate::addr::Site;
use std::collections::{BTreeMap, BTreeSet};

/// A breakpoint the step engine planted, honoured only in the activation at `depth` (the number of
/// Wasm frames on the stack when that activation is the innermost one).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct StepTarget {
    pub site: Site,
    pub depth: usize,
}

/// A user breakpoint. `only_at_depth` is set for a breakpoint LLDB planted on a return address of
/// the stack it was looking at (`finish`, or stepping out of a callee): LLDB 22 gives every Wasm
/// frame the same CFA, so it would accept the first activation that reaches that address, which
/// in a recursion is a deeper one. We honour such a breakpoint only in the activation it was for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserBreakpoint {
    pub only_at_depth: Option<usize>,
    /// Other pcs of the same module where this breakpoint is also planted and reported as hit:
    /// where branches back to a loop the breakpoint's line opens land (they never meet the stop on
    /// the `loop` itself).
    pub aliases: Vec<u32>,
}

/// What a breakpoint hit at some site and depth means.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Hit {
    /// The pending step is complete (whether or not a user breakpoint is also here: LLDB tells
    /// that from its own breakpoint sites when the stop is a plain trap).
    StepDone,
    /// A user breakpoint, outside any step or interrupting one.
    User,
    /// Only breakpoints meant for another activation or no longer wanted: resume silently.
    Spurious,
}

#[derive(Default, Debug)]
pub struct Breakpoints {
    user: BTreeMap<Site, UserBreakpoint>,
    step: Vec<StepTarget>,
    /// Instructions that may touch watched memory (see `crate::watchpoints`).
    watch: BTreeSet<Site>,
    planted: BTreeSet<Site>,
    /// Sites where a breakpoint stopped the program at that very pc: the only ones left to linger.
    /// Dropping a site from here is what has the next sync remove it once it is unwanted.
    exact: BTreeSet<Site>,
}

/// At most this many unwanted sites stay planted; past it they are all removed at the next sync
/// (watchpoint sites come and go by the thousand, and each lingering one may cost a stop).
pub const LINGER_LIMIT: usize = 64;

/// Host breakpoint edits needed to make the planted set match what is wanted.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Edits {
    pub add: Vec<Site>,
    pub remove: Vec<Site>,
}

impl Breakpoints {
    /// Returns false if the user breakpoint already existed (its condition is left alone).
    pub fn add_user(&mut self, site: Site, bp: UserBreakpoint) -> bool {
        if self.user.contains_key(&site) {
            return false;
        }
        self.user.insert(site, bp);
        true
    }

    pub fn remove_user(&mut self, site: Site) -> bool {
        self.user.remove(&site).is_some()
    }

    pub fn user_sites(&self) -> impl Iterator<Item = (&Site, &UserBreakpoint)> {
        self.user.iter()
    }

    pub fn step_targets(&self) -> &[StepTarget] {
        &self.step
    }

    pub fn user_count(&self) -> usize {
        self.user.len()
    }

    pub fn has_user(&self, site: Site) -> bool {
        self.user.contains_key(&site)
    }

    /// The user breakpoint that `site` is an alias of (see [`UserBreakpoint::aliases`]), unless
    /// one is planted at `site` itself.
    pub fn user_alias_of(&self, site: Site) -> Option<Site> {
        if self.user.contains_key(&site) {
            return None;
        }
        self.user
            .iter()
            .find(|(s, bp)| s.module == site.module && bp.aliases.contains(&site.pc))
            .map(|(s, _)| *s)
    }

    pub fn stepping(&self) -> bool {
        !self.step.is_empty()
    }

    pub fn set_watch_sites(&mut self, sites: BTreeSet<Site>) {
        self.watch = sites;
    }

    pub fn is_watch_site(&self, site: Site) -> bool {
        self.watch.contains(&site)
    }

    pub fn watch_site_count(&self) -> usize {
        self.watch.len()
    }

    pub fn set_step(&mut self, targets: Vec<StepTarget>) {
        self.step = targets;
    }

    pub fn clear_step(&mut self) {
        self.step.clear();
    }

    /// Forgets every user breakpoint and step target (a debugger detached or disconnected); the
    /// next sync removes every host breakpoint, so the program runs on undisturbed.
    pub fn clear_all(&mut self) {
        self.user.clear();
        self.step.clear();
        self.watch.clear();
        self.exact.clear();
    }

    /// The program stopped at `site` for a breakpoint planted there.
    pub fn confirm_exact(&mut self, site: Site) {
        if self.planted.contains(&site) {
            self.exact.insert(site);
        }
    }

    fn is_wanted(&self, site: Site) -> bool {
        self.user.contains_key(&site)
            || self.user_alias_of(site).is_some()
            || self.step.iter().any(|t| t.site == site)
            || self.watch.contains(&site)
    }

    /// Whether `site` is planted only because removing it was put off (see the module docs).
    pub fn is_lingering(&self, site: Site) -> bool {
        self.planted.contains(&site) && self.exact.contains(&site) && !self.is_wanted(site)
    }

    /// The program stopped at a lingering site: remove it before the program runs again.
    pub fn evict(&mut self, site: Site) {
        if self.is_lingering(site) {
            self.exact.remove(&site);
        }
    }

    fn wanted(&self) -> BTreeSet<Site> {
        self.user
            .iter()
            .flat_map(|(site, bp)| {
                std::iter::once(*site).chain(bp.aliases.iter().map(|&pc| Site {
                    module: site.module,
                    pc,
                }))
            })
            .chain(self.step.iter().map(|t| t.site))
            .chain(self.watch.iter().copied())
            .collect()
    }

    /// The host edits that bring the planted set in line with what is wanted. The caller applies
    /// them and reports failures with [`Breakpoints::planting_failed`].
    pub fn sync(&mut self) -> Edits {
        let edits = self.pending();
        for site in &edits.remove {
            self.planted.remove(site);
        }
        self.planted.extend(edits.add.iter().copied());
        edits
    }

    /// The edits the next [`Breakpoints::sync`] would make.
    pub fn pending(&self) -> Edits {
        let wanted = self.wanted();
        let unwanted: Vec<Site> = self.planted.difference(&wanted).copied().collect();
        let lingering = unwanted.iter().filter(|s| self.exact.contains(s)).count();
        let remove_all = lingering > LINGER_LIMIT;
        Edits {
            add: wanted.difference(&self.planted).copied().collect(),
            remove: unwanted
                .into_iter()
                .filter(|site| remove_all || !self.exact.contains(site))
                .collect(),
        }
    }

    pub fn planting_failed(&mut self, site: Site) {
        self.planted.remove(&site);
    }

    pub fn planted(&self) -> &BTreeSet<Site> {
        &self.planted
    }

    /// Classifies a breakpoint stop. `sites` are the sites whose breakpoint could have stopped
    /// here: the pc itself, plus earlier sites Wasmtime may have slipped forward to this pc.
    pub fn classify(&self, sites: &[Site], depth: usize) -> Hit {
        let step_done = self
            .step
            .iter()
            .any(|t| t.depth == depth && sites.contains(&t.site));
        if step_done {
            return Hit::StepDone;
        }
        let user = sites
            .iter()
            .filter_map(|s| self.user.get(s))
            .any(|bp| match bp.only_at_depth {
                Some(d) => d == depth,
                None => true,
            });
        if user { Hit::User } else { Hit::Spurious }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(pc: u32) -> Site {
        Site { module: 0, pc }
    }

    #[test]
    fn user_and_step_share_one_host_breakpoint() {
        let mut bps = Breakpoints::default();
        bps.add_user(site(10), UserBreakpoint::default());
        assert_eq!(
            bps.sync(),
            Edits {
                add: vec![site(10)],
                remove: vec![]
            }
        );
        bps.set_step(vec![
            StepTarget {
                site: site(10),
                depth: 2,
            },
            StepTarget {
                site: site(20),
                depth: 2,
            },
        ]);
        assert_eq!(
            bps.sync(),
            Edits {
                add: vec![site(20)],
                remove: vec![]
            }
        );
        // The step's own site, where it stopped, lingers: the next step may want it again.
        bps.confirm_exact(site(20));
        bps.confirm_exact(site(10));
        bps.clear_step();
        assert_eq!(bps.sync(), Edits::default());
        assert!(bps.is_lingering(site(20)) && !bps.is_lingering(site(10)));
        // Stepping over the user's breakpoint: removed, stepped from, planted again; no edit.
        assert!(bps.remove_user(site(10)));
        bps.set_step(vec![StepTarget {
            site: site(20),
            depth: 2,
        }]);
        assert_eq!(bps.sync(), Edits::default());
        bps.clear_step();
        bps.add_user(site(10), UserBreakpoint::default());
        assert_eq!(bps.sync(), Edits::default());
        // A stop at a lingering site removes it before the program runs on.
        bps.evict(site(20));
        bps.evict(site(10));
        assert_eq!(
            bps.sync(),
            Edits {
                add: vec![],
                remove: vec![site(20)]
            }
        );
        assert_eq!(bps.sync(), Edits::default());
    }

    #[test]
    fn only_sites_stopped_at_exactly_linger() {
        let mut bps = Breakpoints::default();
        bps.set_step(vec![
            StepTarget {
                site: site(30),
                depth: 1,
            },
            StepTarget {
                site: site(40),
                depth: 1,
            },
        ]);
        bps.sync();
        // The step ended at 30; Wasmtime may have moved 40 to a later instruction.
        bps.confirm_exact(site(30));
        bps.clear_step();
        assert_eq!(bps.sync().remove, vec![site(40)]);
        assert!(bps.is_lingering(site(30)));
    }

    #[test]
    fn lingering_sites_are_bounded() {
        let mut bps = Breakpoints::default();
        let many: BTreeSet<Site> = (0..=LINGER_LIMIT as u32).map(site).collect();
        bps.set_watch_sites(many.clone());
        assert_eq!(bps.sync().add.len(), many.len());
        for &s in &many {
            bps.confirm_exact(s);
        }
        bps.set_watch_sites(BTreeSet::new());
        assert_eq!(bps.sync().remove, many.into_iter().collect::<Vec<_>>());
        assert!(bps.planted().is_empty());
    }

    #[test]
    fn step_target_only_in_its_activation() {
        let mut bps = Breakpoints::default();
        bps.set_step(vec![StepTarget {
            site: site(30),
            depth: 3,
        }]);
        assert_eq!(bps.classify(&[site(30)], 3), Hit::StepDone);
        assert_eq!(bps.classify(&[site(30)], 4), Hit::Spurious);
        assert_eq!(bps.classify(&[site(31)], 3), Hit::Spurious);
    }

    #[test]
    fn user_breakpoint_interrupts_a_step_elsewhere() {
        let mut bps = Breakpoints::default();
        bps.add_user(site(5), UserBreakpoint::default());
        bps.set_step(vec![StepTarget {
            site: site(30),
            depth: 3,
        }]);
        assert_eq!(bps.classify(&[site(5)], 7), Hit::User);
        assert_eq!(bps.classify(&[site(30)], 3), Hit::StepDone);
    }

    #[test]
    fn return_address_breakpoint_honoured_only_at_its_depth() {
        let mut bps = Breakpoints::default();
        bps.add_user(
            site(40),
            UserBreakpoint {
                only_at_depth: Some(2),
                ..Default::default()
            },
        );
        assert_eq!(bps.classify(&[site(40)], 5), Hit::Spurious);
        assert_eq!(bps.classify(&[site(40)], 2), Hit::User);
        // A second Z0 for the same site keeps the first one's condition.
        assert!(!bps.add_user(site(40), UserBreakpoint::default()));
    }

    #[test]
    fn slipped_sites_are_recognised() {
        let mut bps = Breakpoints::default();
        bps.set_step(vec![StepTarget {
            site: site(50),
            depth: 1,
        }]);
        assert_eq!(bps.classify(&[site(52), site(50)], 1), Hit::StepDone);
    }

    #[test]
    fn watch_sites_are_planted_alongside_the_rest() {
        let mut bps = Breakpoints::default();
        bps.add_user(site(1), UserBreakpoint::default());
        bps.set_watch_sites([site(1), site(2)].into_iter().collect());
        assert_eq!(bps.sync().add, vec![site(1), site(2)]);
        bps.confirm_exact(site(2));
        bps.set_watch_sites(BTreeSet::new());
        assert_eq!(bps.sync().remove, Vec::<Site>::new());
        assert!(!bps.is_watch_site(site(2)) && bps.is_lingering(site(2)));
    }

    #[test]
    fn failed_plant_is_retried_next_sync() {
        let mut bps = Breakpoints::default();
        bps.add_user(site(1), UserBreakpoint::default());
        assert_eq!(bps.sync().add, vec![site(1)]);
        bps.planting_failed(site(1));
        assert_eq!(bps.sync().add, vec![site(1)]);
        bps.clear_all();
        assert_eq!(bps.sync().remove, vec![site(1)]);
    }

    #[test]
    fn aliases_are_planted_and_answer_for_their_breakpoint() {
        let mut bps = Breakpoints::default();
        bps.add_user(
            site(10),
            UserBreakpoint {
                aliases: vec![14],
                ..Default::default()
            },
        );
        assert_eq!(
            bps.sync(),
            Edits {
                add: vec![site(10), site(14)],
                remove: vec![]
            }
        );
        assert_eq!(bps.user_alias_of(site(14)), Some(site(10)));
        assert_eq!(bps.user_alias_of(site(10)), None);
        assert_eq!(bps.user_alias_of(Site { module: 1, pc: 14 }), None);
        bps.remove_user(site(10));
        bps.clear_all();
        assert_eq!(
            bps.sync(),
            Edits {
                add: vec![],
                remove: vec![site(10), site(14)]
            }
        );
    }
}
