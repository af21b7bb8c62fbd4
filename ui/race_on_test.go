//go:build race

package ui

// raceEnabled: the race detector slows code 5 to 10 times, so timing
// budgets are reported, not enforced.
const raceEnabled = true
