//go:build race

package local_test

// raceEnabled: the test binary runs as the task's rlimit trampoline, and a
// race-instrumented binary cannot start under a small address-space limit
// (ThreadSanitizer reserves its shadow memory first: "out of memory:
// failed to allocate").
const raceEnabled = true
