//! Where a single Wasm step can end, as breakpoints: the step engine never uses Wasmtime's
//! single-step mode, because in components a `continue` after single-stepping ignores every
//! breakpoint (Wasmtime 48). A step plants temporary breakpoints at every successor of the
//! current instruction, each tied to the activation that would execute it, and continues.

use crate::addr::Site;
use crate::breakpoints::StepTarget;
use crate::control_flow::StepTargets;

/// The temporary breakpoints that end a step of the innermost frame of `stack` (each frame's
/// module and pc, innermost first; for callers, the return address), given the
/// successors of its current instruction. An empty result means the step can only end in an
/// event (a trap, the program finishing) and the caller just continues.
pub fn plan(stack: &[Site], successors: &StepTargets) -> Vec<StepTarget> {
    let Some(top) = stack.first() else {
        return Vec::new();
    };
    let depth = stack.len();
    let here = |pc| Site {
        module: top.module,
        pc,
    };
    let mut targets: Vec<StepTarget> = successors
        .same_frame
        .iter()
        .map(|&pc| StepTarget {
            site: here(pc),
            depth,
        })
        .chain(successors.callee_entries.iter().map(|&pc| StepTarget {
            site: here(pc),
            depth: depth + 1,
        }))
        .collect();
    if successors.leaves_frame
        && let Some(caller) = stack.get(1)
    {
        targets.push(StepTarget {
            site: Site {
                module: caller.module,
                pc: caller.pc,
            },
            depth: depth - 1,
        });
    }
    targets.dedup();
    targets
}

/// The depth at which a new breakpoint at `site` should be honoured, if `site` is the return
/// address of a caller frame in `stack` (see `UserBreakpoint::only_at_depth`).
pub fn return_address_depth(stack: &[Site], site: Site) -> Option<usize> {
    let depth = stack.len();
    stack
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, f)| f.module == site.module && f.pc == site.pc)
        .map(|(i, _)| depth - i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(pc: u32) -> Site {
        Site { module: 0, pc }
    }

    fn targets(same_frame: &[u32], callee_entries: &[u32], leaves_frame: bool) -> StepTargets {
        StepTargets {
            same_frame: same_frame.to_vec(),
            callee_entries: callee_entries.to_vec(),
            leaves_frame,
        }
    }

    #[test]
    fn fallthrough_and_branches_stay_in_the_frame() {
        let stack = [frame(100), frame(50)];
        let plan = plan(&stack, &targets(&[102, 120], &[], false));
        assert_eq!(
            plan,
            vec![
                StepTarget {
                    site: Site { module: 0, pc: 102 },
                    depth: 2
                },
                StepTarget {
                    site: Site { module: 0, pc: 120 },
                    depth: 2
                },
            ]
        );
    }

    #[test]
    fn calls_go_one_deeper_and_returns_one_shallower() {
        let stack = [frame(100), frame(50), frame(10)];
        assert_eq!(
            plan(&stack, &targets(&[], &[7], false)),
            vec![StepTarget {
                site: Site { module: 0, pc: 7 },
                depth: 4
            }]
        );
        assert_eq!(
            plan(&stack, &targets(&[], &[], true)),
            vec![StepTarget {
                site: Site { module: 0, pc: 50 },
                depth: 2
            }]
        );
    }

    #[test]
    fn leaving_the_outermost_frame_plants_nothing() {
        assert!(plan(&[frame(100)], &targets(&[], &[], true)).is_empty());
        assert!(plan(&[], &targets(&[1], &[], false)).is_empty());
    }

    #[test]
    fn return_addresses_get_their_frame_depth() {
        // fact(2) <- fact(3) <- fact(4) <- main: every fact caller frame has the same return pc.
        let stack = [frame(300), frame(310), frame(310), frame(20)];
        assert_eq!(
            return_address_depth(&stack, Site { module: 0, pc: 310 }),
            Some(3)
        );
        assert_eq!(
            return_address_depth(&stack, Site { module: 0, pc: 20 }),
            Some(1)
        );
        assert_eq!(
            return_address_depth(&stack, Site { module: 0, pc: 300 }),
            None
        );
        assert_eq!(
            return_address_depth(&stack, Site { module: 1, pc: 310 }),
            None
        );
    }
}
