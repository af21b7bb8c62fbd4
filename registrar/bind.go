package registrar

// Bind sets what packaging produced on the task entities compiled for b's
// version: the image and bundle every task of the version runs. The flow
// compiles once, before packaging (so a spec error uploads nothing), and
// binds after.
func Bind(ents []*Entity, b Build) {
	for _, e := range ents {
		if e.Task != nil && e.Version == b.Version {
			e.Task.Image, e.Task.Bundle = b.Image, b.Bundle
		}
	}
}
