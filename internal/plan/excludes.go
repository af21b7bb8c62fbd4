package plan

// DefaultExcludes returns the globs (pathmatch syntax, matched with
// pathmatch.MatchPrefix like bundle.exclude) of files that cannot affect
// what a task does: documentation and repository metadata. They are left out
// of the code bundle AND ignored by the plan, so a README-only change plans
// `none` and the bundle digest does not move when only the docs do. fastreg
// must apply the same list, or the plan would promise a bundle that is not
// the one built.
//
// The list is deliberately short and conventional. A file a task reads at
// run time must not match it: a prompt kept in "prompts/system.md" would be
// left out, so keep such files under another extension. .runwayignore and
// runway.yaml are not in the list: changing them changes which files the
// bundle holds or which entities exist.
func DefaultExcludes() []string {
	return []string{
		"**/*.md",           // README.md, CHANGELOG.md, docs in any directory
		"docs/**",           // a documentation tree at the root
		".github/**",        // CI workflows, issue templates, CODEOWNERS
		"**/LICENSE*",       // LICENSE, LICENSE.txt
		"**/.gitignore",     // tracked files are bundled whatever it says
		"**/.gitattributes", // checkout attributes; the bundle reads git objects
	}
}
