// Package local is the local runner, the embedded default: each task
// attempt is a `runway exec-task --spec FILE` child process on this host,
// in its own working directory (<workdir>/<execution>/<node>/attempt-<n>)
// and its own process group, with Pdeathsig so that attempts die with the
// runway process that started them.
//
// Limits, chosen once in New:
//
//   - cgroup v2 when the unified hierarchy has the memory and cpu
//     controllers and runway may enable them below its own cgroup or, when
//     that one holds processes (v2 lets only an empty cgroup delegate), the
//     nearest ancestor that can (memory.max, memory.swap.max 0,
//     memory.oom.group 1, cpu.max; OOM from memory.events);
//   - else cgroup v1 when runway can create cgroups below its own memory and
//     cpu cgroups (memory.limit_in_bytes, memsw when swap accounting exists,
//     cpu.cfs_quota_us; OOM from memory.oom_control's oom_kill counter);
//   - else setrlimit (RLIMIT_AS for memory, RLIMIT_CPU as limit x timeout
//     CPU-seconds), logged once as weaker. exec-task starts the command
//     through a trampoline that sets the limits and then execs it, so they
//     hold from its first instruction; a limit that cannot be set fails the
//     attempt (a system failure naming it).
//
// One cgroup per attempt, named after execution, node and attempt, is
// created only when the attempt has limits, joined by exec-task itself
// before it fetches anything, and emptied and removed when the attempt
// ends. The task's timeout is enforced by exec-task (it kills the command's
// process group); the runner adds a backstop of timeout + 2m for the whole
// wrapper, and on cancellation sends SIGTERM, then SIGKILL after the grace
// period, then kills whatever is left in the process group and cgroup.
//
// The task image is not used: local attempts run on the host with its
// tools (the Kubernetes executor runs the image). $RUNWAY_CHECKPOINT is
// <workdir>/<execution>/<node>/checkpoint. A succeeded execution's
// directory is removed when the engine reports it done; a failed one's is
// kept for its task.log files (the error message names the log).
//
// Layer: a domain package (see README.md). It imports internal packages and
// the domain packages executor and executor/exectask, nothing above them:
// never flow, a presentation package (prbot, ui) or an entry point (cmd/,
// action/, server/). Only its tests import test kits (internal/testkit/...);
// internal/archtest checks this.
package local
