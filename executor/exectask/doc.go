// Package exectask is `runway exec-task`, the wrapper every runner runs
// around one task attempt. It implements the task I/O contract of
// DESIGN.md, in order:
//
//  1. fetch the code bundle and verify its digest (the uncompressed tar is
//     hashed into a temporary file; a mismatch is refused before anything
//     is extracted);
//  2. extract it safely into <workdir>/code (internal/archive, the one
//     extractor, which dir inputs use too: no absolute paths, "..", links
//     that may leave the root, writes through links or special files);
//  3. stage inputs: {{inputs.x}} substitutions, RUNWAY_INPUT_<NAME>
//     variables and $RUNWAY_INPUTS/<name> (value files for scalars, the
//     fetched and verified file or extracted dir for file/dir; for those the
//     substitution and the variable are the path);
//  4. run the command in the code directory, in its own process group,
//     within the spec's limits; the timeout or cancellation kills the whole
//     group, and so does the command's end (nothing it started outlives the
//     attempt); an increase of the cgroup's oom_kill counter is OOMKilled;
//  5. collect $RUNWAY_OUTPUTS and check it against the interface: a missing
//     output, a directory for a file, or a value that does not parse is a
//     user failure naming the output;
//  6. upload file and dir outputs to the execution repository;
//  7. $RUNWAY_CHECKPOINT is a directory the runner keeps for every attempt
//     of the same node in the same execution.
//
// The runner hands exec-task a Spec file and reads back a Result file;
// the exit code (0, 1 user failure, 2 system failure) says the same for
// runners that only see exit codes. The command inherits exec-task's
// environment plus the task's env and the RUNWAY_* variables.
//
// When cgroups are used, exec-task first writes its own PID into the
// attempt's cgroups, so the wrapper and the task share the limit, as they
// share a container's limit under the Kubernetes executor. Without
// cgroups, RLIMIT_AS and RLIMIT_CPU are set on the command with prlimit
// right after it starts.
//
// Layer: a domain package (see README.md). It imports internal packages and
// the domain packages executor, fastreg and registrar, nothing above them:
// never flow, a presentation package (prbot, ui) or an entry point (cmd/,
// action/, server/). Only its tests import test kits (internal/testkit/...);
// internal/archtest checks this.
package exectask
