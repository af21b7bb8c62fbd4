package prbot

import (
	"strings"
	"testing"
)

func TestMarkdownEscaping(t *testing.T) {
	for _, s := range []string{
		"<img src=x onerror=alert(1)>",
		"[click](https://evil.example)",
		"![x](https://evil.example/a.png)",
		"@octo-org/admins please look",
		"a | b | c",
		"**bold** _it_ `code` ~~s~~",
		"line1\nline2\r\n# heading",
		"<!-- runway:sticky -->",
		"fixes #12",
	} {
		got := md(s)
		for _, bad := range []string{"<", ">", "\n", "](", "|", "@", "#12", "<!--", "**", "`"} {
			if strings.Contains(strings.ReplaceAll(got, "\\"+bad, ""), bad) {
				t.Errorf("md(%q) = %q still holds %q", s, got, bad)
			}
		}
		c := code(s)
		inner := strings.TrimSuffix(strings.TrimPrefix(c, "<code>"), "</code>")
		for _, bad := range []string{"<", ">", "`", "|", "@", "\n"} {
			if strings.Contains(inner, bad) {
				t.Errorf("code(%q) = %q still holds %q", s, c, bad)
			}
		}
	}
	if got := block("a\n```\nb"); !strings.HasPrefix(got, "````text\n") || !strings.HasSuffix(got, "\n````\n") {
		t.Errorf("block did not lengthen its fence: %q", got)
	}
}
