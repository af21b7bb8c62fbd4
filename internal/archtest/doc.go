// Package archtest holds no code, only tests that read the whole module's
// source and hold it to the architecture written down in README.md:
//
//   - layers_test.go: every package belongs to a layer (entry points,
//     presentation, flow, domain packages, internals, test kits, tools),
//     and no file imports a higher layer or, outside tests, a test kit;
//   - vocabulary_test.go: repository and tag names, OCI annotation keys and
//     Kubernetes label and annotation keys are spelled only in the one file
//     that names them.
//
// They run in plain `go test ./...`, parse files with go/parser (build tags
// ignored, so integration files are checked too) and need nothing else.
//
// Layer: a test-only package under internal/; it imports nothing from the
// module.
package archtest
