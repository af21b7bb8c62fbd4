// Command plantime runs plan.Plan and prints the plan as JSON. It measures
// the plan step apart from the runway CLI (bench/plan.sh):
//
//	plantime [-repo DIR] -base REV -head REV
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/runway-ci/runway/internal/plan"
)

func main() {
	repo := flag.String("repo", ".", "repository directory")
	base := flag.String("base", "", "base revision")
	head := flag.String("head", "HEAD", "head revision")
	flag.Parse()
	p, err := plan.Plan(context.Background(), *repo, *base, *head)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plantime:", err)
		os.Exit(1)
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<16)
	if err := p.WriteJSON(w); err != nil {
		fmt.Fprintln(os.Stderr, "plantime:", err)
		os.Exit(1)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "plantime:", err)
		os.Exit(1)
	}
}
