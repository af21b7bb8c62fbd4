package ui

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/runway-ci/runway/executor"
)

// The DAG picture: a layered (Sugiyama-style) layout computed here, in Go,
// and drawn as SVG by the execution page. Columns are layers, left to
// right: a node's layer is the length of the longest upstream path to it.
// Within a layer nodes start in declaration order and are then reordered
// by the barycenter of their neighbours in the adjacent layer, sweeping
// right and left a few times, which removes most edge crossings of the
// DAGs pipelines have. The cost is linear in nodes plus edges per sweep
// (plus a sort per layer): BenchmarkLayout1000 lays out a 1,000-node
// workflow in about 10 ms on this project's loaded 2-core machines.

// Layout sizes, in SVG user units (pixels at 100%).
const (
	nodeW      = 168
	nodeH      = 34
	gapX       = 56
	gapY       = 12
	margin     = 12
	maxLabel   = 22 // characters of a node ID drawn inside its box
	sweeps     = 4
	ganttLabel = 176 // width of the timeline's name column
	ganttW     = 760 // width of the timeline's bars area
	ganttRow   = 20
)

// dagNode is one node as drawn.
type dagNode struct {
	ID     string
	Label  string // the ID, shortened to fit the box
	Status executor.Status
	Cache  executor.CacheStatus
	Task   string // the task name
	Layer  int
	X, Y   int
}

// dagEdge is one upstream edge, as an SVG path.
type dagEdge struct {
	From, To string
	D        string
}

// dag is a laid-out graph.
type dag struct {
	Nodes         []dagNode
	Edges         []dagEdge
	Width, Height int
	Layers        int
	NodeW, NodeH  int
}

// layoutDAG lays out the nodes of an execution record. Upstream names that
// are not nodes are ignored, and a cycle (which a valid record never has)
// puts the nodes on it in one extra layer instead of failing.
func layoutDAG(nodes []*executor.NodeRecord) dag {
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		if _, dup := index[n.ID]; !dup {
			index[n.ID] = i
		}
	}
	up := make([][]int, len(nodes))
	down := make([][]int, len(nodes))
	indeg := make([]int, len(nodes))
	for i, n := range nodes {
		seen := map[int]bool{}
		for _, u := range n.Upstream {
			j, ok := index[u]
			if !ok || j == i || seen[j] {
				continue
			}
			seen[j] = true
			up[i] = append(up[i], j)
			down[j] = append(down[j], i)
			indeg[i]++
		}
	}
	// Longest-path layering in topological (Kahn) order.
	layer := make([]int, len(nodes))
	queue := make([]int, 0, len(nodes))
	for i := range nodes {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	placed := 0
	maxLayer := 0
	for k := 0; k < len(queue); k++ {
		i := queue[k]
		placed++
		if layer[i] > maxLayer {
			maxLayer = layer[i]
		}
		for _, j := range down[i] {
			if layer[i]+1 > layer[j] {
				layer[j] = layer[i] + 1
			}
			if indeg[j]--; indeg[j] == 0 {
				queue = append(queue, j)
			}
		}
	}
	if placed < len(nodes) { // a cycle: never in a valid record
		maxLayer++
		for i := range nodes {
			if indeg[i] > 0 {
				layer[i] = maxLayer
			}
		}
	}
	if len(nodes) == 0 {
		maxLayer = -1
	}
	cols := make([][]int, maxLayer+1)
	for i := range nodes {
		cols[layer[i]] = append(cols[layer[i]], i)
	}
	pos := make([]float64, len(nodes))
	setPos := func() {
		for _, c := range cols {
			for k, i := range c {
				pos[i] = float64(k)
			}
		}
	}
	setPos()
	bary := make([]float64, len(nodes))
	order := func(c []int, nb [][]int) {
		for _, i := range c {
			if len(nb[i]) == 0 {
				bary[i] = pos[i]
				continue
			}
			s := 0.0
			for _, j := range nb[i] {
				s += pos[j]
			}
			bary[i] = s / float64(len(nb[i]))
		}
		sort.SliceStable(c, func(a, b int) bool { return bary[c[a]] < bary[c[b]] })
	}
	for s := 0; s < sweeps; s++ {
		for l := 1; l < len(cols); l++ {
			order(cols[l], up)
			setPos()
		}
		for l := len(cols) - 2; l >= 0; l-- {
			order(cols[l], down)
			setPos()
		}
	}
	tallest := 0
	for _, c := range cols {
		if len(c) > tallest {
			tallest = len(c)
		}
	}
	g := dag{NodeW: nodeW, NodeH: nodeH, Layers: len(cols), Nodes: make([]dagNode, len(nodes))}
	g.Width = 2*margin + len(cols)*nodeW + max(len(cols)-1, 0)*gapX
	g.Height = 2*margin + tallest*nodeH + max(tallest-1, 0)*gapY
	if len(nodes) == 0 {
		g.Width, g.Height = 2*margin, 2*margin
	}
	for l, c := range cols {
		offset := (tallest - len(c)) * (nodeH + gapY) / 2
		for k, i := range c {
			n := nodes[i]
			g.Nodes[i] = dagNode{
				ID: n.ID, Label: shorten(n.ID, maxLabel), Status: n.Status, Cache: n.Cache, Task: n.Task.Name,
				Layer: l, X: margin + l*(nodeW+gapX), Y: margin + offset + k*(nodeH+gapY),
			}
		}
	}
	for i := range nodes {
		for _, j := range up[i] {
			a, b := g.Nodes[j], g.Nodes[i]
			x1, y1 := a.X+nodeW, a.Y+nodeH/2
			x2, y2 := b.X, b.Y+nodeH/2
			mx := (x1 + x2) / 2
			g.Edges = append(g.Edges, dagEdge{From: a.ID, To: b.ID,
				D: fmt.Sprintf("M%d %dC%d %d %d %d %d %d", x1, y1, mx, y1, mx, y2, x2, y2)})
		}
	}
	return g
}

// shorten cuts s to n runes, with an ellipsis.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
