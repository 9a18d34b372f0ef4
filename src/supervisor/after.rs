//! `after NAME… [restart]` between the jobs of the configuration in force
//! (issue 16): which jobs each starts after, which restart with which, and
//! an order to start them in that puts every job after the ones it names.
//!
//! The parser has rejected unknown names and cycles, so the graph is
//! acyclic; it is rebuilt on every load, by index into the job table.

use crate::prelude::*;

use crate::config::JobSpec;

/// Job `job` starts after job `after`; `restart`: and restarts with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub job: u32,
    pub after: u32,
    pub restart: bool,
}

#[derive(Debug, Default)]
pub struct Graph {
    /// Sorted by `job`. Empty for a configuration without `after`.
    edges: Vec<Edge>,
    /// A start order: `start_order` (by `order`, then file order), with
    /// each job moved after the jobs it names. Empty without edges:
    /// `start_order` is then the order.
    order: Vec<usize>,
}

impl Graph {
    /// The graph of `jobs` (the job table, in file order; `spec` gives
    /// each one's spec, so that no list of them is made), and a start
    /// order that keeps `start_order` wherever `after` allows. Out of
    /// `Jobs::apply` on x86_64 (issue 18, bytes: min x86_64 -48; armv6
    /// +8, aarch64 +80).
    #[cfg_attr(target_arch = "x86_64", inline(never))]
    pub fn build<T>(jobs: &[T], spec: fn(&T) -> &JobSpec, start_order: &[usize]) -> Graph {
        // The parser resolved each name to the job's index in the file,
        // which is its index in the table.
        let mut edges = Vec::new();
        let n = jobs.len();
        for (i, job) in jobs.iter().enumerate() {
            let Some(r) = &spec(job).readiness else {
                continue;
            };
            for a in &r.after {
                if (a.index as usize) < n {
                    edges.push(Edge {
                        job: i as u32,
                        after: a.index,
                        restart: a.restart,
                    });
                }
            }
        }
        if edges.is_empty() {
            // The empty list returned as it is: not dropped for a
            // default one (issue 18, bytes).
            return Graph {
                edges,
                order: Vec::new(),
            };
        }
        // Depth first from each job in start order, the jobs it names
        // first. Iterative: a chain may be thousands of jobs long. A
        // cycle (which the parser rejects) would only be cut, not loop.
        // Grown by its pushes, as `path`: no size asked first (a load's
        // few reallocations; issue 18, bytes).
        let mut order = Vec::new();
        // Whether each job was reached (on the path or placed): only
        // ever tested against 0, so nothing marks it placed (issue 18,
        // bytes).
        let mut mark = vec![0u8; n];
        let mut path: Vec<(usize, usize)> = Vec::new();
        for &start in start_order {
            match mark.get_mut(start) {
                Some(m) if *m == 0 => *m = 1,
                _ => continue,
            }
            path.push((start, 0));
            while let Some(top) = path.last_mut() {
                let (v, next) = *top;
                match after(&edges, v).get(next) {
                    Some(e) => {
                        top.1 += 1;
                        let w = e.after as usize;
                        if let Some(m) = mark.get_mut(w)
                            && *m == 0
                        {
                            *m = 1;
                            path.push((w, 0));
                        }
                    }
                    None => {
                        order.push(v);
                        path.pop();
                    }
                }
            }
        }
        Graph { edges, order }
    }

    /// The order to start jobs in, or `None`: `start_order` as it is.
    pub fn order(&self) -> Option<&[usize]> {
        (!self.edges.is_empty()).then_some(&self.order[..])
    }

    /// Every edge, by job.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// What job `i` starts after.
    pub fn after(&self, i: usize) -> &[Edge] {
        after(&self.edges, i)
    }

    /// The jobs that restart with job `i` (`after I restart`).
    pub fn restarting_with(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.edges
            .iter()
            .filter(move |e| e.restart && e.after as usize == i)
            .map(|e| e.job as usize)
    }
}

/// What job `i` starts after, of `edges` (sorted by job): for
/// [`Graph::after`], and for [`Graph::build`] before its graph is made,
/// so that no graph with an empty order is made and dropped there (issue
/// 18, bytes).
#[inline(never)]
fn after(edges: &[Edge], i: usize) -> &[Edge] {
    let i = i as u32;
    // One binary search, then the job's few edges counted: not a
    // second search inlined (issue 18, bytes).
    let rest = &edges[edges.partition_point(|e| e.job < i)..];
    let n = rest.iter().take_while(|e| e.job == i).count();
    &rest[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(text: &str) -> Vec<JobSpec> {
        crate::config::parse_bytes("t.conf", text.as_bytes())
            .unwrap()
            .jobs
    }

    fn job(name: &str, after: &str) -> String {
        let after = if after.is_empty() {
            String::new()
        } else {
            format!(" after {after}\n")
        };
        format!("job {{\n name {name}\n cmd /bin/true\n{after}}}\n")
    }

    fn graph(specs: &[JobSpec]) -> Graph {
        let start: Vec<usize> = (0..specs.len()).collect();
        Graph::build(specs, |s| s, &start)
    }

    #[test]
    fn without_after_there_is_nothing() {
        let s = specs(&[job("a", ""), job("b", "")].concat());
        let g = graph(&s);
        assert!(g.edges().is_empty());
        assert_eq!(g.order(), None);
        assert!(g.after(0).is_empty());
    }

    #[test]
    fn dependencies_come_first_and_the_rest_keeps_its_order() {
        // web after db after disk; log stands alone; disk is last in file.
        let s = specs(
            &[
                job("web", "db"),
                job("log", ""),
                job("db", "disk"),
                job("disk", ""),
            ]
            .concat(),
        );
        let g = graph(&s);
        assert_eq!(g.order(), Some(&[3, 2, 0, 1][..]));
        assert_eq!(
            g.after(0),
            [Edge {
                job: 0,
                after: 2,
                restart: false
            }]
        );
        assert!(g.after(1).is_empty());
    }

    #[test]
    fn restart_edges_are_found_from_the_job_restarted_with() {
        let s = specs(&[job("db", ""), job("web", "db restart"), job("cron", "db")].concat());
        let g = graph(&s);
        assert_eq!(g.restarting_with(0).collect::<Vec<_>>(), [1]);
        assert_eq!(g.restarting_with(1).count(), 0);
    }

    #[test]
    fn a_chain_of_thousands_is_ordered_without_recursion() {
        let n = 5000;
        let text: String = (0..n)
            .map(|i| {
                let after = if i + 1 < n {
                    format!("j{}", i + 1)
                } else {
                    String::new()
                };
                job(&format!("j{i}"), &after)
            })
            .collect();
        let s = specs(&text);
        let g = graph(&s);
        let order = g.order().unwrap();
        assert_eq!(order.len(), n);
        assert_eq!(order[0], n - 1);
        assert_eq!(order[n - 1], 0);
    }
}
