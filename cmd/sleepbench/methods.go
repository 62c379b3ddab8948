package main

import (
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/sleepbench/sleepbench/methods"
)

func init() {
	commands["methods"] = command{"list the continual-learning methods with their default settings", runMethods}
}

// runMethods prints one line per registered method: name, summary and
// default settings (each settable as key=value in a method config).
func runMethods(args []string) error {
	fs := flag.NewFlagSet("methods", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sleepbench methods\n\nLists every registered method: name, summary, default settings.")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (methods takes no arguments)", fs.Arg(0))
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	for _, name := range methods.Default.Names() {
		info, err := methods.Default.Lookup(name)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", name, info.Summary, methods.FormatDefaults(info.Defaults))
	}
	return w.Flush()
}
