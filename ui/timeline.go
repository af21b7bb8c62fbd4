package ui

import (
	"fmt"
	"sort"
	"time"

	"github.com/runway-ci/runway/executor"
)

// The timeline is a Gantt chart of the nodes, from the execution's start to
// its end (or now, while it runs): one row per node and one bar per
// attempt, coloured by how the attempt ended (records written before
// attempts were logged get one bar from the node's start to its end).
// Cache hits are drawn as a marker, not a bar: no task process ran.

// timelineRow is one node on the timeline.
type timelineRow struct {
	ID       string
	Label    string
	Status   executor.Status
	CacheHit bool
	Attempts int
	Started  bool
	Y        int
	Bars     []timelineBar
	Title    string
	X        int // where a cache hit's marker goes
	EndX     int // right end of the last bar
}

// timelineBar is one attempt (or the whole node) on a row.
type timelineBar struct {
	X, W   int // in the SVG's user units
	Status executor.Status
	Title  string
}

// timeline is a laid-out Gantt chart.
type timeline struct {
	Rows          []timelineRow
	Width, Height int
	LabelW        int
	Span          string // the whole axis as a duration
	Ticks         []timelineTick
}

type timelineTick struct {
	X      int
	Label  string
	Anchor string // SVG text-anchor: the last label ends at its tick
}

func layoutTimeline(ex *executor.Execution, now time.Time) timeline {
	var t0, t1 time.Time
	if ex.Started != nil {
		t0 = *ex.Started
	}
	for _, n := range ex.Nodes {
		if n.Started != nil && (t0.IsZero() || n.Started.Before(t0)) {
			t0 = *n.Started
		}
		end := now
		if n.Finished != nil {
			end = *n.Finished
		}
		if n.Started != nil && end.After(t1) {
			t1 = end
		}
	}
	if ex.Finished != nil && ex.Finished.After(t1) {
		t1 = *ex.Finished
	}
	span := t1.Sub(t0)
	if span <= 0 {
		span = time.Millisecond
	}
	tl := timeline{LabelW: ganttLabel, Width: ganttLabel + ganttW + margin, Span: roundDuration(span).String()}
	scale := func(t time.Time) int { return ganttLabel + int(float64(ganttW)*float64(t.Sub(t0))/float64(span)) }
	rows := make([]*executor.NodeRecord, len(ex.Nodes))
	copy(rows, ex.Nodes)
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i].Started, rows[j].Started
		switch {
		case a == nil || b == nil:
			return a != nil && b == nil
		default:
			return a.Before(*b)
		}
	})
	for k, n := range rows {
		r := timelineRow{ID: n.ID, Label: shorten(n.ID, maxLabel), Status: n.Status, CacheHit: n.Cache == executor.CacheHit,
			Attempts: n.Attempts, Y: 24 + k*ganttRow, Title: n.ID + ": " + string(n.Status)}
		if n.Started != nil {
			r.Started = true
			bar := func(from time.Time, to *time.Time, st executor.Status, title string) {
				end := now
				if to != nil {
					end = *to
				}
				x := scale(from)
				b := timelineBar{X: x, W: max(scale(end)-x, 2), Status: st, Title: title + ", " + roundDuration(end.Sub(from)).String()}
				r.Bars = append(r.Bars, b)
				r.EndX = b.X + b.W
			}
			for _, a := range n.AttemptLog {
				st, why := executor.StatusSucceeded, ""
				switch {
				case a.Finished == nil:
					st = executor.StatusRunning
				case a.Failure != nil:
					st, why = executor.StatusFailed, ": "+string(a.Failure.Kind)+" failure, "+string(a.Failure.Reason)
				}
				bar(a.Started, a.Finished, st, fmt.Sprintf("%s attempt %d%s", n.ID, a.Number, why))
			}
			if len(n.AttemptLog) == 0 && !r.CacheHit {
				bar(*n.Started, n.Finished, n.Status, n.ID+": "+string(n.Status))
			}
			if r.CacheHit {
				r.X = scale(*n.Started)
				r.Title += ", cache hit"
			}
		}
		tl.Rows = append(tl.Rows, r)
	}
	tl.Height = 24 + len(rows)*ganttRow + margin
	for i := 0; i <= 4; i++ {
		anchor := "start"
		if i == 4 {
			anchor = "end"
		}
		tl.Ticks = append(tl.Ticks, timelineTick{X: ganttLabel + ganttW*i/4, Label: roundDuration(span * time.Duration(i) / 4).String(), Anchor: anchor})
	}
	return tl
}

func roundDuration(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
