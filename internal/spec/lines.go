package spec

// LineMap maps a field path such as "tasks[0].resources.limits.cpu" to the
// line (1-based) where its value was written, after resolving aliases to
// the place they are used.
type LineMap map[string]int

// Line returns the line of path, or of its closest ancestor that has one.
func (m LineMap) Line(path string) int {
	for p := path; p != ""; p = parent(p) {
		if l, ok := m[p]; ok {
			return l
		}
	}
	return 0
}

func parent(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		switch p[i] {
		case '.':
			return p[:i]
		case '[':
			return p[:i]
		}
	}
	return ""
}
