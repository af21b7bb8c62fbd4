package prbot

import (
	"strings"
)

// mdEscaper makes untrusted text (paths, branch names, titles, comment
// text, error messages that quote them) inert in GitHub Markdown: no
// formatting, no links or images, no HTML, no table breaks, no @mentions
// or #references that would notify people, on one line. Bare URLs stay
// as they are: GitHub autolinks them, but shows them as what they are.
var mdEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;",
	"\\", "\\\\", "`", "\\`", "*", "\\*", "_", "\\_", "{", "\\{", "}", "\\}",
	"[", "\\[", "]", "\\]", "(", "\\(", ")", "\\)", "#", "&#35;",
	"|", "\\|", "~", "\\~", "@", "&#64;",
	"\r\n", " ", "\n", " ", "\r", " ", "\t", " ",
)

// md escapes untrusted text for Markdown prose and table cells.
func md(s string) string { return mdEscaper.Replace(s) }

// codeEscaper is for text shown as code: HTML <code> with entities, since
// a backtick in the text would end a Markdown code span.
var codeEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "`", "&#96;", "|", "&#124;", "@", "&#64;",
	"\\", "&#92;", "*", "&#42;", "_", "&#95;", "[", "&#91;", "]", "&#93;",
	"\r\n", " ", "\n", " ", "\r", " ",
)

// code shows untrusted text as inline code.
func code(s string) string {
	if s == "" {
		return ""
	}
	return "<code>" + codeEscaper.Replace(s) + "</code>"
}

// block shows untrusted multi-line text (an error) in a fenced block whose
// fence is longer than any backtick run inside.
func block(s string) string {
	fence := "```"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	return fence + "text\n" + strings.TrimRight(s, "\n") + "\n" + fence + "\n"
}
