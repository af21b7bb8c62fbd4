package ui

import (
	"sort"
	"time"

	"github.com/runway-ci/runway/executor"
)

// The timeline is a Gantt chart of the nodes, from the execution's start to
// its end (or now, while it runs). The record keeps one start and one end
// per node, spanning all of its attempts, so a bar covers every attempt of
// a node and names how many there were. Cache hits are drawn as a marker,
// not a bar: no task process ran.

// timelineRow is one node on the timeline.
type timelineRow struct {
	ID       string
	Label    string
	Status   executor.Status
	CacheHit bool
	Attempts int
	Started  bool
	Y        int
	X, W     int // the bar, in the SVG's user units
	Title    string
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
			end := now
			if n.Finished != nil {
				end = *n.Finished
			}
			r.X = scale(*n.Started)
			r.W = max(scale(end)-r.X, 2)
			r.Title += ", " + roundDuration(n.Duration(now)).String()
			if r.CacheHit {
				r.Title += ", cache hit"
			} else if n.Attempts > 1 {
				r.Title += ", " + itoa(n.Attempts) + " attempts"
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
